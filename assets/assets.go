// Package assets holds the files hotdeploy embeds: the demo sandbox's nginx.conf template and
// page, the narration of the guided demo, and example automation.
package assets

import "embed"

// FS holds every embedded file, by its name in this folder.
//
//go:embed sandbox narration i18n
var FS embed.FS
