package testservers

import "syscall"

// procAttr runs a server as cred (nil: as this process) and has the kernel
// send it deathSignal if this process dies without stopping it (a
// `go test -timeout` panic runs no cleanup).
func procAttr(cred *syscall.Credential, deathSignal syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: deathSignal, Setpgid: true}
}
