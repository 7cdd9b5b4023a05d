// Command fakenginx is a candidate "nginx" for the fleet test: an ELF that answers -v/-V/-t like
// the real nginx (it execs it for those), so that it passes hotdeploy's preflight, and then fails
// where the test wants it to: as the new master (mode "die") or at the config test ("badconf").
package main

import (
	"fmt"
	"os"
	"syscall"
)

// Set with -ldflags -X at build time.
var (
	realNginx = "/usr/sbin/nginx"
	mode      = "die"
)

func main() {
	for _, a := range os.Args[1:] {
		switch {
		case a == "-t" || a == "-T":
			if mode == "badconf" {
				fmt.Fprintln(os.Stderr, "nginx: [emerg] fleet test candidate: the configuration test fails on purpose")
				os.Exit(1)
			}
			execReal()
		case a == "-v" || a == "-V":
			execReal()
		}
	}
	fmt.Fprintln(os.Stderr, "nginx: [emerg] fleet test candidate: exits at start on purpose")
	os.Exit(1)
}

// execReal becomes the real nginx with the same arguments.
func execReal() {
	args := append([]string{realNginx}, os.Args[1:]...)
	err := syscall.Exec(realNginx, args, os.Environ())
	fmt.Fprintln(os.Stderr, "fakenginx: exec", realNginx, err)
	os.Exit(1)
}
