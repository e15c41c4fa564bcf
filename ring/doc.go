// Package ring is the lock-free buffer between a video source and its
// consumers: one writer appends H.264 access units, any number of readers
// follow at their own pace, and the memory is fixed when the ring is made.
//
// # Guarantees
//
//   - The writer never waits. It overwrites the oldest entries whether or
//     not every reader has read them.
//   - A reader never sees part of an access unit, or an access unit
//     assembled from two different ones. If the writer laps a reader, the
//     reader's next Read reports [ErrOverrun] and the one after it returns
//     the next IDR access unit, so a decoder downstream never sees a
//     reference picture go missing.
//   - A new reader starts on the newest IDR in the ring, so its consumer can
//     decode a picture at once (the "GOP replay" start).
//
// # Memory layout
//
// The payload lives in a power-of-two array of 64-bit words. Each access
// unit is stored as its NAL units, each behind a 4-byte big-endian length,
// padded to a whole number of words, at a monotonically increasing absolute
// byte position (wrapped modulo the array size). A second power-of-two
// array of slots holds, per entry, its position, size, capture time and
// flags, and a sequence word.
//
// # Memory ordering
//
// Every shared word is read and written with sync/atomic, whose operations
// are sequentially consistent in the Go memory model, so the argument below
// only needs the program order of each goroutine.
//
// The writer, for entry n in slot s = n mod slots, at byte position p with
// padded length l:
//
//  1. s.seq = 0                (entry n-slots in s is no longer valid)
//  2. reserved = p + l         (bytes below p+l-size may now change)
//  3. payload words            (the overwrite itself)
//  4. s.off, s.size, s.pts, s.flags
//  5. s.seq = n + 1            (entry n is complete)
//  6. published = n + 1        (and lastKey = n + 1 for an IDR)
//
// A reader, for entry n < published:
//
//  1. seq1 = s.seq; read s.off, s.size, s.pts, s.flags; seq2 = s.seq.
//     If seq1 != n+1 or seq2 != seq1 the slot was reused: overrun.
//     Otherwise the fields belong to entry n, because the writer stores
//     seq = 0 before touching them and n+1 only after.
//  2. If reserved > off + size-of-ring, part of the payload may already be
//     overwritten: overrun.
//  3. Copy the payload words.
//  4. If reserved > off + size-of-ring now, the writer started overwriting
//     during the copy: overrun, discard the copy.
//
// The writer publishes reserved (step 2) before it changes any payload word
// (step 3). So if the reader's second load of reserved (its step 4) still
// shows no overlap, no store to the words it copied can precede that load,
// and all the words it copied are the ones entry n wrote. Entry n's own
// payload stores happen before its seq store (writer steps 3 and 5), which
// the reader observed before copying (reader step 1), so the copy cannot see
// older data either.
//
// Readers wait for new entries on a one-slot channel of their own, which
// the writer signals without blocking after publishing; a reader checks
// published before it waits, so no wake-up is lost. The list of channels is
// copied on write when readers join or leave, under a mutex the writer never
// takes.
package ring
