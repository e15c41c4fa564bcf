package push_test

import (
	"context"
	"log/slog"

	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/push"
)

// Publishing a camera's ring to a relay until ctx ends.
func Example() {
	rb := ring.New(8<<20, 1024) // the ring the encoder writes to
	c, err := push.New(push.Options{
		URL:    "rtsp://cam1:secret@relay.example:8554/cam1",
		Source: rb,
		Logger: slog.Default(),
	})
	if err != nil {
		slog.Error("bad relay", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // in a real program: when the camera shuts down
	_ = c.Run(ctx)
	slog.Info("relay", "state", c.Status().State)
}
