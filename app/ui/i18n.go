package ui

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/buergerkoffer/kit/assets"
)

// The app is written in German, the language of the counter; German text
// is the translation key. assets/translations/<lang>.json maps it to other
// languages. A test checks that every text the screens use has an English
// entry. Fyne's own lang package picks the language from the system
// locale once; clerks switch in the settings, so the app keeps its own.

var (
	trOnce sync.Once
	trMaps map[string]map[string]string
	trErr  error
)

func loadTranslations() {
	trMaps = map[string]map[string]string{}
	ents, err := assets.Translations.ReadDir("translations")
	if err != nil {
		trErr = fmt.Errorf("translations: %w", err)
		return
	}
	for _, e := range ents {
		b, err := assets.Translations.ReadFile(path.Join("translations", e.Name()))
		if err != nil {
			trErr = fmt.Errorf("translations: %w", err)
			return
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			trErr = fmt.Errorf("translations: %s: %w", e.Name(), err)
			return
		}
		trMaps[strings.TrimSuffix(e.Name(), ".json")] = m
	}
}

// Languages are the languages a clerk can choose.
var Languages = []string{"de", "en"}

// translate returns s in lang; German and missing entries come back as is.
func translate(lang, s string) string {
	if lang == "" || lang == "de" {
		return s
	}
	trOnce.Do(loadTranslations)
	if v, ok := trMaps[lang][s]; ok && v != "" {
		return v
	}
	return s
}

// t translates a text of the UI into the clerk's language.
func (k *Kit) t(s string) string { return translate(k.lang(), s) }

// tf translates a format and fills it in.
func (k *Kit) tf(format string, args ...any) string {
	return fmt.Sprintf(translate(k.lang(), format), args...)
}
