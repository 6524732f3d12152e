package webhook

import (
	"context"
	"fmt"
	"net"
)

// listen opens the TCP listener Serve uses.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for webhooks on %s: %w", addr, err)
	}
	return ln, nil
}
