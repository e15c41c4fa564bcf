module github.com/ipcamd/ipcamd

go 1.26.0

require (
	github.com/VictoriaMetrics/metrics v1.45.0
	github.com/blackjack/webcam v0.6.1
	github.com/pion/rtcp v1.2.20
	github.com/pion/rtp v1.10.6
	github.com/pion/sdp/v3 v3.0.20
	github.com/pion/srtp/v3 v3.0.13
	go.yaml.in/yaml/v3 v3.0.5
	golang.org/x/sys v0.41.0
	periph.io/x/conn/v3 v3.7.3
	periph.io/x/host/v3 v3.8.5
)

require (
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/transport/v4 v4.1.0 // indirect
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
)
