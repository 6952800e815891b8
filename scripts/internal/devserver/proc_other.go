//go:build unix && !linux

package devserver

import "syscall"

// procAttr puts wrangler in its own process group, so Stop can end it with
// all its children. Outside Linux there is no Pdeathsig: if this process dies
// without Stop, wrangler keeps running.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
