// Package fleettest runs the Ansible role in assets/ansible against several sandbox nginx on this
// machine, with the real hotdeploy and Debian's ansible-core. Its tests carry the build tag
// "fleet" (make test-fleet) because they need ansible-core and root, and install a hotdeploy .deb.
package fleettest
