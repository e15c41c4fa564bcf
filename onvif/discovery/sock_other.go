//go:build !linux

package discovery

import (
	"context"
	"errors"
	"net"
)

var errUnsupported = errors.New("WS-Discovery needs Linux (IP_PKTINFO)")

func listen(ctx context.Context, addr string) (*net.UDPConn, error) { return nil, errUnsupported }

func joinGroup(c *net.UDPConn, group net.IP, ifindex int, local net.IP) error { return errUnsupported }

func dialMulticast(ifindex int, local net.IP) (*net.UDPConn, error) { return nil, errUnsupported }

const oobSize = 0

func truncated(flags int) bool { return false }

func parsePktinfo(oob []byte) (int, net.IP, bool) { return 0, nil, false }
