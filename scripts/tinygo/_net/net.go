// Package net is a socket-less net for TinyGo on js/wasm, standing in for
// TinyGo's src/net git submodule, which no package registry serves. A Worker
// has no sockets: it gets requests from the JavaScript glue and makes its
// calls through the runtime's bindings, so every Dial and Listen here fails.
// The package holds only what net/http, crypto/x509 and TinyGo's crypto/tls
// refer to; `make tinygo` adds the standard library's ip.go, mac.go and
// parse.go (IP, IPNet, ParseIP, ParseCIDR, …) from the local Go.
//
// The directory name starts with "_" so that the go command skips it: it
// is a package of TinyGo's standard library, not of this module.
package net

import (
	"context"
	"errors"
	"internal/bytealg"
	"internal/strconv"
	"net/netip"
	"time"
)

// Addr, Conn, Listener, PacketConn and Error are the standard interfaces.
type Addr interface {
	Network() string
	String() string
}

type Conn interface {
	Read(b []byte) (n int, err error)
	Write(b []byte) (n int, err error)
	Close() error
	LocalAddr() Addr
	RemoteAddr() Addr
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

type Listener interface {
	Accept() (Conn, error)
	Close() error
	Addr() Addr
}

type PacketConn interface {
	ReadFrom(p []byte) (n int, addr Addr, err error)
	WriteTo(p []byte, addr Addr) (n int, err error)
	Close() error
	LocalAddr() Addr
	SetDeadline(t time.Time) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

type Error interface {
	error
	Timeout() bool
	Temporary() bool
}

// ErrClosed is what an operation on a closed connection returns.
var ErrClosed = errors.New("use of closed network connection")

// errNoSockets is the cause of every failed Dial and Listen.
var errNoSockets = errors.New("no sockets in this runtime (TinyGo js/wasm)")

// OpError is the error type of the net operations.
type OpError struct {
	Op     string
	Net    string
	Source Addr
	Addr   Addr
	Err    error
}

func (e *OpError) Unwrap() error { return e.Err }

func (e *OpError) Error() string {
	if e == nil {
		return "<nil>"
	}
	s := e.Op
	if e.Net != "" {
		s += " " + e.Net
	}
	if e.Addr != nil {
		s += " " + e.Addr.String()
	}
	return s + ": " + e.Err.Error()
}

func (e *OpError) Timeout() bool {
	t, ok := e.Err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

func (e *OpError) Temporary() bool {
	t, ok := e.Err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// ParseError is returned by the address parsers of ip.go.
type ParseError struct {
	Type string
	Text string
}

func (e *ParseError) Error() string   { return "invalid " + e.Type + ": " + e.Text }
func (e *ParseError) Timeout() bool   { return false }
func (e *ParseError) Temporary() bool { return false }

// AddrError is returned by SplitHostPort.
type AddrError struct {
	Err  string
	Addr string
}

func (e *AddrError) Error() string {
	if e == nil {
		return "<nil>"
	}
	if e.Addr == "" {
		return e.Err
	}
	return "address " + e.Addr + ": " + e.Err
}

func (e *AddrError) Timeout() bool   { return false }
func (e *AddrError) Temporary() bool { return false }

// IPAddr, TCPAddr and UDPAddr are the standard address types.
type IPAddr struct {
	IP   IP
	Zone string
}

func (a *IPAddr) Network() string { return "ip" }
func (a *IPAddr) String() string {
	if a == nil {
		return "<nil>"
	}
	if a.Zone != "" {
		return a.IP.String() + "%" + a.Zone
	}
	return a.IP.String()
}

type TCPAddr struct {
	IP   IP
	Port int
	Zone string
}

func (a *TCPAddr) Network() string { return "tcp" }
func (a *TCPAddr) String() string  { return hostPortString(a.IP, a.Zone, a.Port) }

// AddrPort returns a as a netip.AddrPort.
func (a *TCPAddr) AddrPort() netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	na, _ := netip.AddrFromSlice(a.IP)
	return netip.AddrPortFrom(na.WithZone(a.Zone), uint16(a.Port))
}

type UDPAddr struct {
	IP   IP
	Port int
	Zone string
}

func (a *UDPAddr) Network() string { return "udp" }
func (a *UDPAddr) String() string  { return hostPortString(a.IP, a.Zone, a.Port) }

func hostPortString(ip IP, zone string, port int) string {
	host := ip.String()
	if zone != "" {
		host += "%" + zone
	}
	return JoinHostPort(host, strconv.Itoa(port))
}

// TCPConn exists for type assertions (net/http asserts CloseWrite on it);
// no value of it is ever made, since nothing can dial.
type TCPConn struct{ Conn }

func (c *TCPConn) CloseWrite() error                      { return errNoSockets }
func (c *TCPConn) SetKeepAlive(bool) error                { return errNoSockets }
func (c *TCPConn) SetKeepAlivePeriod(time.Duration) error { return errNoSockets }
func (c *TCPConn) SetNoDelay(bool) error                  { return errNoSockets }

// TLSConn is what TinyGo's crypto/tls returns from its Dial (the submodule
// offloads TLS to network devices); here it cannot be made either.
type TLSConn struct{ Conn }

// DialTLS fails: no sockets.
func DialTLS(addr string) (*TLSConn, error) {
	return nil, &OpError{Op: "dial", Net: "tcp", Err: errNoSockets}
}

// KeepAliveConfig mirrors the standard type; it is never used here.
type KeepAliveConfig struct {
	Enable   bool
	Idle     time.Duration
	Interval time.Duration
	Count    int
}

// Dialer has the standard fields; its dials fail.
type Dialer struct {
	Timeout         time.Duration
	Deadline        time.Time
	LocalAddr       Addr
	DualStack       bool
	FallbackDelay   time.Duration
	KeepAlive       time.Duration
	KeepAliveConfig KeepAliveConfig
	Cancel          <-chan struct{}
}

func (d *Dialer) Dial(network, address string) (Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *Dialer) DialContext(ctx context.Context, network, address string) (Conn, error) {
	return nil, &OpError{Op: "dial", Net: network, Err: errNoSockets}
}

// Dial fails: no sockets.
func Dial(network, address string) (Conn, error) {
	return new(Dialer).Dial(network, address)
}

// DialTimeout fails: no sockets.
func DialTimeout(network, address string, timeout time.Duration) (Conn, error) {
	return new(Dialer).Dial(network, address)
}

// Listen fails: no sockets.
func Listen(network, address string) (Listener, error) {
	return nil, &OpError{Op: "listen", Net: network, Err: errNoSockets}
}

// SplitHostPort and JoinHostPort behave as the standard ones.
func SplitHostPort(hostport string) (host, port string, err error) {
	const (
		missingPort   = "missing port in address"
		tooManyColons = "too many colons in address"
	)
	addrErr := func(addr, why string) (host, port string, err error) {
		return "", "", &AddrError{Err: why, Addr: addr}
	}
	j, k := 0, 0

	// The port starts after the last colon.
	i := bytealg.LastIndexByteString(hostport, ':')
	if i < 0 {
		return addrErr(hostport, missingPort)
	}

	if hostport[0] == '[' {
		// Expect the first ']' just before the last ':'.
		end := bytealg.IndexByteString(hostport, ']')
		if end < 0 {
			return addrErr(hostport, "missing ']' in address")
		}
		switch end + 1 {
		case len(hostport):
			return addrErr(hostport, missingPort)
		case i:
		default:
			if hostport[end+1] == ':' {
				return addrErr(hostport, tooManyColons)
			}
			return addrErr(hostport, missingPort)
		}
		host = hostport[1:end]
		j, k = 1, end+1 // there can't be a '[' resp. ']' before these positions
	} else {
		host = hostport[:i]
		if bytealg.IndexByteString(host, ':') >= 0 {
			return addrErr(hostport, tooManyColons)
		}
	}
	if bytealg.IndexByteString(hostport[j:], '[') >= 0 {
		return addrErr(hostport, "unexpected '[' in address")
	}
	if bytealg.IndexByteString(hostport[k:], ']') >= 0 {
		return addrErr(hostport, "unexpected ']' in address")
	}

	port = hostport[i+1:]
	return host, port, nil
}

func JoinHostPort(host, port string) string {
	// Literal IPv6 addresses (with a colon) need brackets.
	if bytealg.IndexByteString(host, ':') >= 0 {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
