package devserver

import "syscall"

// procAttr puts wrangler in its own process group, so Stop can end it with
// all its children, and has the kernel send it SIGTERM if this process dies
// without calling Stop (a `go test -timeout` panic runs no cleanup); wrangler
// then shuts its workerd children down itself. (The kernel ties Pdeathsig to
// the thread that started wrangler; Go keeps its threads for the life of the
// process, unless the goroutine that called Start exits while locked to its
// thread with runtime.LockOSThread.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
