package traffic

import "slices"

// socketDump is the counter's view of the kernel's socket table: which established client
// connections sit on the instance's listening ports. It knows sockets by inode only; which
// worker holds one is sockOwners' business. Not safe for concurrent use.
type socketDump struct {
	diag  sockDiag
	ports []uint16   // local ports the instance listens on, ascending
	estab []diagSock // reused between dumps
}

// needsFull tells whether the ports are unknown, or too many for the kernel's filter.
func (d *socketDump) needsFull() bool {
	return len(d.ports) == 0 || len(d.ports) > maxFilterPorts
}

// onPorts is the steady state: the kernel lists only established sockets on the known ports,
// and fn gets each accepted one's inode.
func (d *socketDump) onPorts(fn func(ino uint32)) error {
	return d.diag.dump(1<<tcpEstablished, d.ports, func(s diagSock) {
		if s.inode != 0 {
			fn(s.inode)
		}
	})
}

// full lists listening and established sockets of every port, learns the instance's ports
// from the listening sockets that ours recognises, then gives fn every accepted established
// socket on those ports.
func (d *socketDump) full(ours func(ino uint32) bool, fn func(ino uint32)) error {
	d.estab = d.estab[:0]
	var ports []uint16
	err := d.diag.dump(1<<tcpEstablished|1<<tcpListen, nil, func(s diagSock) {
		switch {
		case s.inode == 0: // not accepted yet: no worker holds it
		case s.state == tcpListen:
			if ours(s.inode) {
				ports = append(ports, s.sport)
			}
		default:
			d.estab = append(d.estab, s)
		}
	})
	if err != nil {
		return err
	}
	slices.Sort(ports)
	d.ports = slices.Compact(ports)
	for _, s := range d.estab {
		if _, ok := slices.BinarySearch(d.ports, s.sport); ok {
			fn(s.inode)
		}
	}
	return nil
}
