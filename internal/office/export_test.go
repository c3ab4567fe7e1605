package office

// SetMissingTranslation lets tests hear of texts without English.
func SetMissingTranslation(f func(string)) { missingTranslation = f }
