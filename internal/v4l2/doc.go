// Package v4l2 is a thin, pure-Go binding of the Linux V4L2 uAPI
// (linux/videodev2.h) on golang.org/x/sys/unix: the structs, the ioctl
// numbers and a Device that wraps a file descriptor. It holds no policy;
// capture/v4l2 and encoder/v4l2m2m build on it.
//
// Struct layouts follow the kernel's on linux/amd64, arm64 and arm:
// every C long or pointer is a Go int or uintptr, unions are byte arrays
// aligned like their widest member, and ioctl numbers are computed from
// unsafe.Sizeof, so they are right on each GOARCH. layout_test.go checks
// every size for all three with go/types. On 32-bit arm the timestamps
// in Buffer are 32-bit (the kernel's time32 form, which needs
// CONFIG_COMPAT_32BIT_TIME, set in every Debian and Raspberry Pi
// kernel).
package v4l2
