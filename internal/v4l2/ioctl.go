package v4l2

import "unsafe"

// Ioctl request encoding (asm-generic/ioctl.h, shared by amd64, arm and
// arm64).
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | 'V'<<8 | nr
}

// Ioctl request numbers, sized from the Go structs for this GOARCH.
var (
	vidiocQueryCap           = ioc(iocRead, 0, unsafe.Sizeof(Capability{}))
	vidiocEnumFmt            = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(FmtDesc{}))
	vidiocGFmt               = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(Format{}))
	vidiocSFmt               = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(Format{}))
	vidiocReqBufs            = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(RequestBuffers{}))
	vidiocQueryBuf           = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(Buffer{}))
	vidiocQBuf               = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(Buffer{}))
	vidiocExpBuf             = ioc(iocRead|iocWrite, 16, unsafe.Sizeof(ExportBuffer{}))
	vidiocDQBuf              = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(Buffer{}))
	vidiocStreamOn           = ioc(iocWrite, 18, unsafe.Sizeof(int32(0)))
	vidiocStreamOff          = ioc(iocWrite, 19, unsafe.Sizeof(int32(0)))
	vidiocGParm              = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(StreamParm{}))
	vidiocSParm              = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(StreamParm{}))
	vidiocGCtrl              = ioc(iocRead|iocWrite, 27, unsafe.Sizeof(Control{}))
	vidiocSCtrl              = ioc(iocRead|iocWrite, 28, unsafe.Sizeof(Control{}))
	vidiocQueryCtrl          = ioc(iocRead|iocWrite, 36, unsafe.Sizeof(QueryCtrl{}))
	vidiocTryFmt             = ioc(iocRead|iocWrite, 64, unsafe.Sizeof(Format{}))
	vidiocEnumFrameSizes     = ioc(iocRead|iocWrite, 74, unsafe.Sizeof(FrmSizeEnum{}))
	vidiocEnumFrameIntervals = ioc(iocRead|iocWrite, 75, unsafe.Sizeof(FrmIvalEnum{}))
	vidiocEncoderCmd         = ioc(iocRead|iocWrite, 77, unsafe.Sizeof(EncoderCmd{}))
	vidiocGSelection         = ioc(iocRead|iocWrite, 94, unsafe.Sizeof(Selection{}))
	vidiocSSelection         = ioc(iocRead|iocWrite, 95, unsafe.Sizeof(Selection{}))
)
