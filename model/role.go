package model

import "strings"

// Role is what a process does inside an nginx-family instance.
type Role int

const (
	RoleUnknown Role = iota
	RoleMaster
	RoleWorker
	RoleCacheManager
	RoleCacheLoader
)

var roleNames = [...]string{"unknown", "master", "worker", "cache-manager", "cache-loader"}

func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return roleNames[RoleUnknown]
}

// MarshalText gives the JSON name used by `status --json`.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ParseTitle reads the role of a process from its rewritten title, for example
// "nginx: worker process is shutting down". The prefix before ": " is the family name
// (nginx, angie, ...), which is why it is not matched literally.
//
// Angie adds the configuration generation to its titles: "angie: worker process #3",
// "angie: worker process is shutting down #2", "angie: master process v1.11.3 #1 [argv]". The
// number counts reloads of one master (workers of an older #N drain after a reload); a new
// master started by USR2 counts from #1 again, so it says nothing about old and new binaries.
func ParseTitle(title string) (role Role, shuttingDown bool) {
	_, rest, ok := strings.Cut(title, ": ")
	if !ok {
		return RoleUnknown, false
	}
	rest = trimGeneration(rest)
	switch {
	case strings.HasPrefix(rest, "master process"):
		return RoleMaster, false
	case strings.HasPrefix(rest, "worker process"):
		return RoleWorker, strings.HasSuffix(rest, "is shutting down")
	case strings.HasPrefix(rest, "cache manager process"):
		return RoleCacheManager, false
	case strings.HasPrefix(rest, "cache loader process"):
		return RoleCacheLoader, false
	}
	return RoleUnknown, false
}

// trimGeneration drops Angie's " #N" suffix from a worker, cache manager or loader title.
func trimGeneration(rest string) string {
	i := strings.LastIndex(rest, " #")
	if i < 0 || i+2 == len(rest) || strings.HasPrefix(rest, "master process") {
		return rest
	}
	for _, c := range rest[i+2:] {
		if c < '0' || c > '9' {
			return rest
		}
	}
	return rest[:i]
}

// Generation tells old and new masters (and their children) apart during an upgrade.
type Generation int

const (
	GenCurrent Generation = iota // no upgrade running
	GenOld                       // the master that received USR2
	GenNew                       // the master it started
)

var generationNames = [...]string{"current", "old", "new"}

func (g Generation) String() string {
	if int(g) < len(generationNames) {
		return generationNames[g]
	}
	return "unknown"
}

// MarshalText gives the JSON name used by `status --json`.
func (g Generation) MarshalText() ([]byte, error) { return []byte(g.String()), nil }
