//go:build unix && !linux

package testservers

import "syscall"

// procAttr runs a server as cred (nil: as this process). Outside Linux there
// is no Pdeathsig: a test binary that dies without stopping its servers
// leaves them running.
func procAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
