// Package assets owns the files the kit carries inside its binary: the
// service catalog (catalog/*.json, one definition per service, read by
// internal/catalog), the hand-off data schemas (schemas/), the app icon,
// and the app's translations.
package assets

import (
	_ "embed"

	"embed"
)

// Catalog holds the service definitions under "catalog/".
//
//go:embed catalog/*.json
var Catalog embed.FS

// Schemas holds the JSON Schemas (draft 2020-12) of the data documents a
// sealed case hands off, one per service and layout version, under
// "schemas/<service>-<version>.schema.json" (see internal/handoff/casedoc).
//
//go:embed schemas/*.schema.json
var Schemas embed.FS

// Translations holds the app's translations under "translations/": the
// app's German text is the key, each file maps it to one other language
// (en.json: English).
//
//go:embed translations/*.json
var Translations embed.FS

// Icon is the app icon (PNG).
//
//go:embed icon.png
var Icon []byte
