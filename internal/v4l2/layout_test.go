package v4l2

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
	"unsafe"
)

// kernelSizes are sizeof() of the kernel structs on each architecture,
// from linux/videodev2.h (64-bit longs and pointers on amd64 and arm64;
// 32-bit on arm, with the time32 struct timeval).
var kernelSizes = map[string]map[string]int64{
	"amd64": sizes64,
	"arm64": sizes64,
	"arm": {
		"Capability": 104, "FmtDesc": 64, "FrmSizeEnum": 44, "FrmIvalEnum": 52,
		"PixFormat": 48, "PlanePixFormat": 20, "PixFormatMPlane": 192, "Format": 204,
		"RequestBuffers": 20, "Timecode": 16, "Buffer": 68, "Plane": 60, "ExportBuffer": 64,
		"StreamParm": 204, "Control": 8, "QueryCtrl": 68, "EncoderCmd": 40, "Selection": 64,
	},
}

var sizes64 = map[string]int64{
	"Capability": 104, "FmtDesc": 64, "FrmSizeEnum": 44, "FrmIvalEnum": 52,
	"PixFormat": 48, "PlanePixFormat": 20, "PixFormatMPlane": 192, "Format": 208,
	"RequestBuffers": 20, "Timecode": 16, "Buffer": 88, "Plane": 64, "ExportBuffer": 64,
	"StreamParm": 204, "Control": 8, "QueryCtrl": 68, "EncoderCmd": 40, "Selection": 64,
}

// kernelOffsets are offsetof() of fields whose placement depends on
// alignment.
var kernelOffsets = map[string]map[string]int64{
	"amd64": {"Buffer.Timestamp": 24, "Buffer.M": 64, "Buffer.Length": 72, "Plane.M": 8, "Plane.DataOffset": 16, "Format.Raw": 8},
	"arm64": {"Buffer.Timestamp": 24, "Buffer.M": 64, "Buffer.Length": 72, "Plane.M": 8, "Plane.DataOffset": 16, "Format.Raw": 8},
	"arm":   {"Buffer.Timestamp": 20, "Buffer.M": 52, "Buffer.Length": 56, "Plane.M": 8, "Plane.DataOffset": 12, "Format.Raw": 4},
}

// TestLayout type-checks uapi.go as the gc compiler lays it out on each
// architecture and compares every struct with the kernel's.
func TestLayout(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "uapi.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for arch, want := range kernelSizes {
		t.Run(arch, func(t *testing.T) {
			sizes := types.SizesFor("gc", arch)
			conf := types.Config{Sizes: sizes, Importer: unsafeOnly{}}
			pkg, err := conf.Check("v4l2", fset, []*ast.File{f}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, size := range want {
				obj := pkg.Scope().Lookup(name)
				if obj == nil {
					t.Errorf("%s: not declared", name)
					continue
				}
				if got := sizes.Sizeof(obj.Type().Underlying()); got != size {
					t.Errorf("sizeof(%s) = %d, kernel has %d", name, got, size)
				}
			}
			for path, off := range kernelOffsets[arch] {
				var typ, field string
				for i := range path {
					if path[i] == '.' {
						typ, field = path[:i], path[i+1:]
					}
				}
				st := pkg.Scope().Lookup(typ).Type().Underlying().(*types.Struct)
				var fields []*types.Var
				idx := -1
				for i := range st.NumFields() {
					fields = append(fields, st.Field(i))
					if st.Field(i).Name() == field {
						idx = i
					}
				}
				if idx < 0 {
					t.Fatalf("%s: no such field", path)
				}
				if got := sizes.Offsetsof(fields)[idx]; got != off {
					t.Errorf("offsetof(%s) = %d, kernel has %d", path, got, off)
				}
			}
		})
	}
}

// unsafeOnly imports the one package uapi.go needs.
type unsafeOnly struct{}

func (unsafeOnly) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	return nil, fmt.Errorf("uapi.go must import only unsafe, not %q", path)
}

// TestIoctlNumbers checks the computed request numbers against the
// kernel's for this GOARCH.
func TestIoctlNumbers(t *testing.T) {
	want := map[string]uintptr{
		"QUERYCAP": 0x80685600, "ENUM_FMT": 0xc0405602, "S_PARM": 0xc0cc5616, "EXPBUF": 0xc0405610,
		"S_CTRL": 0xc008561c, "ENUM_FRAMESIZES": 0xc02c564a, "ENUM_FRAMEINTERVALS": 0xc034564b,
		"ENCODER_CMD": 0xc028564d, "STREAMON": 0x40045612, "REQBUFS": 0xc0145608,
	}
	got := map[string]uintptr{
		"QUERYCAP": vidiocQueryCap, "ENUM_FMT": vidiocEnumFmt, "S_PARM": vidiocSParm, "EXPBUF": vidiocExpBuf,
		"S_CTRL": vidiocSCtrl, "ENUM_FRAMESIZES": vidiocEnumFrameSizes, "ENUM_FRAMEINTERVALS": vidiocEnumFrameIntervals,
		"ENCODER_CMD": vidiocEncoderCmd, "STREAMON": vidiocStreamOn, "REQBUFS": vidiocReqBufs,
	}
	switch unsafe.Sizeof(uintptr(0)) {
	case 8:
		want["QBUF"], want["S_FMT"] = 0xc058560f, 0xc0d05605
	case 4:
		want["QBUF"], want["S_FMT"] = 0xc044560f, 0xc0cc5605
	}
	got["QBUF"], got["S_FMT"] = vidiocQBuf, vidiocSFmt
	for name, w := range want {
		if got[name] != w {
			t.Errorf("VIDIOC_%s = %#x, kernel has %#x", name, got[name], w)
		}
	}
}

func TestFourCC(t *testing.T) {
	if PixFmtH264 != 0x34363248 || PixFmtYU12 != 0x32315559 || PixFmtNV12 != 0x3231564e || PixFmtYUYV != 0x56595559 {
		t.Errorf("fourcc values wrong: %#x %#x %#x %#x", PixFmtH264, PixFmtYU12, PixFmtNV12, PixFmtYUYV)
	}
	if s := FourCCString(PixFmtMJPEG); s != "MJPG" {
		t.Errorf("FourCCString = %q", s)
	}
	if s := FourCCString(0x80000000 | FourCC('Y', '1', '6', ' ')); s != "Y16." {
		t.Errorf("big-endian flag: %q", s)
	}
}
