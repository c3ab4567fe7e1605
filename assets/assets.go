// Package assets owns the files the kit carries inside its binary. Today
// that is the service catalog (catalog/*.json, one definition per service,
// read by internal/catalog); icons and translations will join it here.
package assets

import "embed"

// Catalog holds the service definitions under "catalog/".
//
//go:embed catalog/*.json
var Catalog embed.FS
