package testsrc

import "time"

// yuv is a colour in BT.601 limited range (Y 16–235, Cb and Cr 16–240).
type yuv struct{ y, u, v uint8 }

// Colours of the pattern, after SMPTE EG 1 and ITU-R BT.801. Read-only.
var (
	// bars75 are the 75% colour bars, left to right: white (grey),
	// yellow, cyan, green, magenta, red, blue.
	bars75 = [7]yuv{
		{180, 128, 128},
		{162, 44, 142},
		{131, 156, 44},
		{112, 72, 58},
		{84, 184, 198},
		{65, 100, 212},
		{35, 212, 114},
	}
	// castellations are the reverse blue bars under bars75.
	castellations = [7]yuv{
		{35, 212, 114},
		{16, 128, 128},
		{84, 184, 198},
		{16, 128, 128},
		{131, 156, 44},
		{16, 128, 128},
		{180, 128, 128},
	}
	black      = yuv{16, 128, 128}
	white      = yuv{235, 128, 128}
	minusI     = yuv{57, 156, 97}
	plusQ      = yuv{44, 171, 147}
	superBlack = yuv{7, 128, 128}  // PLUGE -4%
	plus4      = yuv{25, 128, 128} // PLUGE +4%
)

// The text: the wall-clock time and the frame counter, as in
// "2026-11-25 16:05:07.123  #00000123". It goes on two lines when one is
// too wide for the picture: the first textLine1 characters, then the
// last textLine2.
const (
	textLen    = len("2026-11-25 16:05:07.123  #00000123")
	textLine1  = len("2026-11-25 16:05:07.123")
	textLine2  = len("#00000123")
	textFG     = 235 // luma of the characters
	textBG     = 16  // luma of the box behind them
	counterMod = 100_000_000
)

// The font: 5x7 glyphs in 6x8 cells, before scaling.
const (
	glyphW, glyphH = 5, 7
	cellW, cellH   = 6, 8
)

// rect is a rectangle of pixels, [x0, x1) x [y0, y1). The rectangles of
// the pattern have even corners, so that they cover whole chroma samples.
type rect struct{ x0, y0, x1, y1 int }

func (r rect) empty() bool { return r.x0 >= r.x1 || r.y0 >= r.y1 }

// intersect returns the part of r inside o.
func (r rect) intersect(o rect) rect {
	r = rect{max(r.x0, o.x0), max(r.y0, o.y0), min(r.x1, o.x1), min(r.y1, o.y1)}
	if r.empty() {
		return rect{}
	}
	return r
}

// inset returns r shrunk by d on every side.
func (r rect) inset(d int) rect {
	return rect{r.x0 + d, r.y0 + d, r.x1 - d, r.y1 - d}.intersect(r)
}

// layout is where the parts of the pattern go in a picture of a given
// size. The box bounces in the bars, [0, w) x [0, barsH); the text box is
// under them, so the two never overlap.
type layout struct {
	w, h   int
	barsH  int    // height of the colour bars
	castH  int    // height of the castellations under them
	barX   [8]int // column edges of the bars and castellations
	boxW   int    // side of the moving box
	border int    // width of its black border
	vx, vy int    // its speed in pixels per frame, both even
	scale  int    // of the font
	text   rect   // the dark text box, clipped to the picture
	cells  [textLen]cell
}

// cell is where a character of the text goes.
type cell struct {
	x, y  int // top left corner of the (scaled) cell
	shown bool
}

// even rounds n/d to the nearest even integer; n and d are not negative.
func even(n, d int) int { return (n + d) / (2 * d) * 2 }

func newLayout(w, h int) layout {
	l := layout{w: w, h: h, barsH: even(2*h, 3), castH: even(h, 12)}
	for i := range l.barX {
		l.barX[i] = even(i*w, 7)
	}

	l.boxW = min(max(4, even(h, 10)), l.barsH, w)
	l.border = max(2, even(l.boxW, 12))
	l.vx = 2 * max(1, h/360)
	l.vy = max(2, l.vx/2&^1)

	// The font is scaled by a whole factor, about h/180 (2 at 240
	// lines, 4 at 720, 6 at 1080), or less if the text does not fit
	// under the bars even on two lines.
	below := rect{0, l.barsH + l.castH, w, h}
	lines, tw, th, pad := 2, 0, 0, 0
	for l.scale = min(max(h/180, 2), 8); ; l.scale-- {
		pad = 2 * l.scale
		for lines = 1; lines <= 2; lines++ {
			cols := textLen
			if lines == 2 {
				cols = max(textLine1, textLine2)
			}
			tw = (cols*cellW-1)*l.scale + 2*pad
			th = (lines*cellH-1)*l.scale + 2*pad
			tw, th = tw+tw%2, th+th%2
			if tw <= below.x1-below.x0 && th <= below.y1-below.y0 {
				break
			}
		}
		if lines <= 2 || l.scale == 1 {
			break // fits, or nothing does and the text is clipped
		}
	}
	lines = min(lines, 2)
	x0 := max(0, (w-tw)/2) &^ 1
	y0 := below.y0 + max(0, (below.y1-below.y0-th)/2)&^1
	l.text = rect{x0, y0, x0 + tw, y0 + th}.intersect(below)

	step := cellW * l.scale
	for i := range l.cells {
		c := &l.cells[i]
		switch {
		case lines == 1:
			c.x, c.y, c.shown = x0+pad+i*step, y0+pad, true
		case i < textLine1:
			c.x, c.y, c.shown = x0+pad+i*step, y0+pad, true
		case i >= textLen-textLine2:
			j := i - (textLen - textLine2)
			c.x, c.y, c.shown = x0+pad+j*step, y0+pad+cellH*l.scale, true
		}
	}
	return l
}

// drawBackground draws the static part of the pattern into f: the bars,
// the castellations, the bottom row and the empty text box.
func (l *layout) drawBackground(f *Frame) {
	y1, y2 := l.barsH, l.barsH+l.castH
	for i := range 7 {
		x0, x1 := l.barX[i], l.barX[i+1]
		fillRect(f, rect{x0, 0, x1, y1}, bars75[i])
		fillRect(f, rect{x0, y1, x1, y2}, castellations[i])
	}
	// -I, white, +Q and black, each 5/4 of a bar wide, then the PLUGE
	// (-4%, black, +4%), each 1/3 of a bar, then black.
	w := l.w
	bottom := [...]struct {
		x1 int
		c  yuv
	}{
		{even(5*w, 28), minusI},
		{even(10*w, 28), white},
		{even(15*w, 28), plusQ},
		{l.barX[5], black},
		{even(16*w, 21), superBlack},
		{even(17*w, 21), black},
		{l.barX[6], plus4},
		{w, black},
	}
	x0 := 0
	for _, b := range bottom {
		fillRect(f, rect{x0, y2, b.x1, l.h}, b.c)
		x0 = b.x1
	}
	fillRect(f, l.text, yuv{textBG, 128, 128})
}

// boxAt returns where the moving box is in frame seq. It bounces off the
// edges of the bars, moving vx and vy pixels per frame.
func (l *layout) boxAt(seq uint64) rect {
	x := bounce(seq, l.vx, l.w-l.boxW)
	y := bounce(seq, l.vy, l.barsH-l.boxW)
	return rect{x, y, x + l.boxW, y + l.boxW}
}

// bounce returns the position at step n of a point moving v per step
// back and forth in [0, r]. With v and r even, the position is even.
func bounce(n uint64, v, r int) int {
	if r <= 0 {
		return 0
	}
	period := uint64(2 * r)
	p := int(n % period * uint64(v) % period)
	if p > r {
		p = 2*r - p
	}
	return p
}

// drawBox draws the moving box at r: white with a black border.
func (l *layout) drawBox(f *Frame, r rect) {
	fillRect(f, r, black)
	fillRect(f, r.inset(l.border), white)
}

// drawChar draws character i of the text, c, into f. The text is grey on
// the grey text box, so only luma changes.
func (l *layout) drawChar(f *Frame, i int, c byte) {
	cl := l.cells[i]
	if !cl.shown {
		return
	}
	s := l.scale
	g := glyph(c)
	r := rect{cl.x, cl.y, cl.x + cellW*s, cl.y + cellH*s}.intersect(l.text)
	for y := r.y0; y < r.y1; y++ {
		var bits uint8
		if gy := (y - cl.y) / s; gy < glyphH {
			bits = g[gy]
		}
		row := f.Y[y*f.Width : (y+1)*f.Width]
		for x := r.x0; x < r.x1; x++ {
			v := uint8(textBG)
			if gx := (x - cl.x) / s; gx < glyphW && bits&(0x10>>gx) != 0 {
				v = textFG
			}
			row[x] = v
		}
	}
}

// fillRect paints r, which has even corners, with c.
func fillRect(f *Frame, r rect, c yuv) {
	if r.empty() {
		return
	}
	for y := r.y0; y < r.y1; y++ {
		fill(f.Y[y*f.Width+r.x0:y*f.Width+r.x1], c.y)
	}
	cs := f.Width / 2
	for y := r.y0 / 2; y < r.y1/2; y++ {
		fill(f.U[y*cs+r.x0/2:y*cs+r.x1/2], c.u)
		fill(f.V[y*cs+r.x0/2:y*cs+r.x1/2], c.v)
	}
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// formatText writes the text of frame seq captured at wall into b:
// "2006-01-02 15:04:05.000  #00000000", in UTC, with the counter modulo
// 10⁸.
func formatText(b *[textLen]byte, seq uint64, wall time.Time) {
	t := wall.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	copy(b[:], "0000-00-00 00:00:00.000  #00000000")
	putDec(b[0:4], uint64(max(year, 0)))
	putDec(b[5:7], uint64(month))
	putDec(b[8:10], uint64(day))
	putDec(b[11:13], uint64(hour))
	putDec(b[14:16], uint64(minute))
	putDec(b[17:19], uint64(sec))
	putDec(b[20:23], uint64(t.Nanosecond()/1e6))
	putDec(b[26:34], seq%counterMod)
}

// putDec writes the last len(b) decimal digits of v into b, zero-padded.
func putDec(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// glyph returns the 5x7 bitmap of c, a row per element with bit 4 the
// leftmost pixel; blank for characters the font lacks.
func glyph(c byte) [glyphH]uint8 {
	switch {
	case c >= '0' && c <= '9':
		return digits[c-'0']
	case c == '-':
		return [glyphH]uint8{0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}
	case c == ':':
		return [glyphH]uint8{0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}
	case c == '.':
		return [glyphH]uint8{0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}
	case c == '#':
		return [glyphH]uint8{0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a}
	}
	return [glyphH]uint8{}
}

// digits are the glyphs of 0 to 9. Read-only.
var digits = [10][glyphH]uint8{
	{0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e},
	{0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e},
	{0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f},
	{0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e},
	{0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02},
	{0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e},
	{0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e},
	{0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
	{0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e},
	{0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c},
}
