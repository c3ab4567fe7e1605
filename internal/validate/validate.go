// Package validate owns the format checks for values a clerk types into an
// application: postal codes, dates, the Steuer-ID, IBANs, pet microchip
// numbers, licence plates and a few more. It also owns the messages a clerk
// reads when a check fails, in German and English, and the registry by which
// the service catalog names its checks.
//
// No message ever repeats the value that was checked: a validation error may
// end up in a log line, and the values are citizens' personal data.
package validate

import (
	"fmt"
	"time"
)

// Codes of the errors this package returns. A code names the failed rule,
// never the value; callers match on it with errors.Is and an *Error that
// carries only the code, e.g. errors.Is(err, &Error{Code: CodePostalCode}).
const (
	CodeRequired       = "required"         // a mandatory field is empty
	CodeConfirm        = "confirm"          // a mandatory yes/no field is not ticked
	CodeUnknownField   = "unknown_field"    // a value for a field the form does not have
	CodeText           = "text"             // control characters in a one-line text
	CodeTooLong        = "too_long"         // text longer than allowed
	CodeOption         = "option"           // a value that is not one of a selection's options
	CodeBool           = "bool"             // a yes/no value other than "true" or "false"
	CodeNumber         = "number"           // not a number
	CodeRange          = "range"            // a number outside its bounds
	CodePostalCode     = "postal_code"      // not 5 digits
	CodePostalRegion   = "postal_region"    // 5 digits, but no German postal code starts like this
	CodeDate           = "date"             // not a real calendar date in the form YYYY-MM-DD
	CodeDateFuture     = "date_future"      // a date in the future where that makes no sense
	CodeDatePast       = "date_past"        // a date in the past where that makes no sense
	CodeMinAge         = "min_age"          // a birth date too recent
	CodeMaxAge         = "max_age"          // a date implausibly long ago
	CodeDateOrder      = "date_order"       // a date before (or after) the date of another field
	CodeSteuerIDFormat = "steuer_id_format" // not 11 digits, or a leading 0
	CodeSteuerIDDigits = "steuer_id_digits" // the digits break the repetition rule
	CodeSteuerIDCheck  = "steuer_id_check"  // wrong check digit
	CodeIBANFormat     = "iban_format"      // characters that no IBAN has
	CodeIBANCountry    = "iban_country"     // a country outside the SEPA table
	CodeIBANLength     = "iban_length"      // wrong length for its country
	CodeIBANCheck      = "iban_check"       // wrong check digits
	CodeChipFormat     = "chip_format"      // not 15 digits
	CodeChipCountry    = "chip_country"     // no country or manufacturer code
	CodeChipTest       = "chip_test"        // a test transponder (code 999)
	CodePlate          = "plate"            // not a German licence plate
	CodeEmail          = "email"            // not an e-mail address
	CodePhone          = "phone"            // not a phone number
	CodeNationality    = "nationality"      // not a list of ICAO nationality codes
	CodeDocumentNumber = "document_number"  // not an ID document number
)

// Error is a failed check. DE and EN are complete sentences for the clerk;
// neither contains the value that was checked.
type Error struct {
	Code string
	DE   string
	EN   string
}

// Error returns the English message with its code, for logs.
func (e *Error) Error() string { return "validate: " + e.Code + ": " + e.EN }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &Error{Code: CodeIBANCheck}) works on wrapped errors.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Message returns the message in the given language: "en" gives English,
// anything else German, the language of the counter.
func (e *Error) Message(lang string) string {
	if lang == "en" && e.EN != "" {
		return e.EN
	}
	return e.DE
}

// newError builds an *Error from the message table.
func newError(code string) *Error {
	m, ok := messages[code]
	if !ok {
		// A code without a message is a bug in this package; still say something useful.
		return &Error{Code: code, DE: "Die Eingabe ist ungültig.", EN: "The input is not valid."}
	}
	return &Error{Code: code, DE: m[0], EN: m[1]}
}

// newErrorf builds an *Error whose messages take arguments. Arguments must be
// rule parameters or labels from the catalog, never the value checked.
func newErrorf(code string, args ...any) *Error {
	m := messages[code]
	return &Error{Code: code, DE: fmt.Sprintf(m[0], args...), EN: fmt.Sprintf(m[1], args...)}
}

// newErrorLang is newErrorf with different arguments per language (words
// and labels that are themselves translated).
func newErrorLang(code string, de, en []any) *Error {
	m := messages[code]
	return &Error{Code: code, DE: fmt.Sprintf(m[0], de...), EN: fmt.Sprintf(m[1], en...)}
}

// messages holds German and English text per code. Entries with verbs are
// built by newErrorf.
var messages = map[string][2]string{
	CodeRequired:     {"Dieses Feld muss ausgefüllt werden.", "This field is required."},
	CodeConfirm:      {"Bitte bestätigen Sie diesen Punkt.", "Please confirm this item."},
	CodeUnknownField: {"Dieses Feld gehört nicht zu diesem Antrag.", "This field does not belong to this application."},
	CodeText:         {"Der Text enthält unzulässige Steuerzeichen (z. B. Zeilenumbrüche).", "The text contains control characters (such as line breaks) that are not allowed."},
	CodeTooLong:      {"Der Text ist zu lang (höchstens %d Zeichen).", "The text is too long (at most %d characters)."},
	CodeOption:       {"Bitte wählen Sie einen der angebotenen Werte aus.", "Please choose one of the values offered."},
	CodeBool:         {"Bitte wählen Sie „ja“ oder „nein“.", "Please choose “yes” or “no”."},
	CodeNumber:       {"Bitte geben Sie eine Zahl ein.", "Please enter a number."},
	CodePostalCode:   {"Die Postleitzahl muss aus 5 Ziffern bestehen.", "The postal code must consist of 5 digits."},
	CodePostalRegion: {"Diese Postleitzahl gibt es nicht: deutsche Postleitzahlen beginnen nicht mit 00.", "No German postal code starts with 00."},
	CodeDate:         {"Bitte geben Sie ein gültiges Datum ein (Tag, Monat, Jahr).", "Please enter a valid date (day, month, year)."},
	CodeDateFuture:   {"Das Datum darf nicht in der Zukunft liegen.", "The date must not be in the future."},
	CodeDatePast:     {"Das Datum darf nicht in der Vergangenheit liegen.", "The date must not be in the past."},
	CodeMinAge:       {"Die Person muss mindestens %d Jahre alt sein.", "The person must be at least %d years old."},
	CodeMaxAge:       {"Das Datum liegt mehr als %d Jahre zurück. Bitte prüfen Sie die Eingabe.", "The date is more than %d years ago. Please check the input."},
	CodeDateOrder:    {"Das Datum darf nicht %s dem Datum im Feld „%s“ liegen.", "The date must not be %s the date in the field “%s”."},
	CodeSteuerIDFormat: {
		"Die Steuer-ID muss aus 11 Ziffern bestehen und darf nicht mit 0 beginnen.",
		"The tax ID must consist of 11 digits and must not start with 0.",
	},
	CodeSteuerIDDigits: {
		"Diese Ziffernfolge ist keine gültige Steuer-ID. Bitte prüfen Sie die Eingabe.",
		"This sequence of digits is not a valid tax ID. Please check the input.",
	},
	CodeSteuerIDCheck: {
		"Die Prüfziffer der Steuer-ID stimmt nicht. Bitte prüfen Sie die Eingabe.",
		"The check digit of the tax ID does not match. Please check the input.",
	},
	CodeIBANFormat: {
		"Die IBAN beginnt mit zwei Buchstaben (Land) und zwei Ziffern und enthält sonst nur Buchstaben und Ziffern.",
		"An IBAN starts with two letters (country) and two digits and contains only letters and digits.",
	},
	CodeIBANCountry: {
		"Für dieses Land kann keine IBAN angenommen werden (nur SEPA-Länder).",
		"IBANs from this country cannot be accepted (SEPA countries only).",
	},
	CodeIBANLength: {
		"Die IBAN hat für dieses Land die falsche Länge (%d Zeichen erwartet).",
		"The IBAN has the wrong length for its country (%d characters expected).",
	},
	CodeIBANCheck: {
		"Die Prüfziffern der IBAN stimmen nicht. Bitte prüfen Sie die Eingabe.",
		"The check digits of the IBAN do not match. Please check the input.",
	},
	CodeChipFormat: {"Die Chipnummer muss aus 15 Ziffern bestehen.", "The microchip number must consist of 15 digits."},
	CodeChipCountry: {
		"Die Chipnummer beginnt nicht mit einem gültigen Länder- oder Herstellercode.",
		"The microchip number does not start with a valid country or manufacturer code.",
	},
	CodeChipTest: {
		"Diese Chipnummer gehört zu einem Testtransponder (Code 999) und kann nicht eingetragen werden.",
		"This microchip number belongs to a test transponder (code 999) and cannot be registered.",
	},
	CodePlate: {
		"Das Kennzeichen hat kein gültiges Format (Beispiele: B-AB 1234, M-X 1E).",
		"The licence plate is not in a valid format (examples: B-AB 1234, M-X 1E).",
	},
	CodeEmail: {"Die E-Mail-Adresse hat kein gültiges Format.", "The e-mail address is not in a valid format."},
	CodePhone: {
		"Die Telefonnummer hat kein gültiges Format (erlaubt: Ziffern, +, Leerzeichen, /, -, Klammern).",
		"The phone number is not in a valid format (allowed: digits, +, spaces, /, -, brackets).",
	},
	CodeNationality: {
		"Bitte die Staatsangehörigkeit als Code angeben (z. B. D, AUT, POL); mehrere durch Komma trennen.",
		"Please give the nationality as a code (e.g. D, AUT, POL); separate several with commas.",
	},
	CodeDocumentNumber: {
		"Die Dokumentnummer darf nur Buchstaben und Ziffern enthalten (höchstens 20 Zeichen).",
		"The document number may contain only letters and digits (at most 20 characters).",
	},
}

// Func checks one value on its own. The simple validators of this package
// (PostalCode, SteuerID, IBAN, Microchip, Plate, Email, Phone, …) are Funcs.
type Func func(value string) error

// Context is what a Rule may consult besides the value: the moment of the
// check and the other values of the same application.
type Context struct {
	// Now is the moment of the check; its calendar date in its location is
	// "today" for date rules.
	Now time.Time
	// Values are the other fields of the application (only those currently
	// shown), by field id.
	Values map[string]string
	// Label names another field for a message, in German and English. It
	// may be nil; then the field id is used.
	Label func(field string) (de, en string)
}

func (c Context) label(field string) (de, en string) {
	if c.Label != nil {
		if de, en = c.Label(field); de != "" {
			if en == "" {
				en = de
			}
			return de, en
		}
	}
	return field, field
}

// Rule is a validator configured with its parameters, as the catalog uses
// it. It returns nil or an *Error.
type Rule func(value string, ctx Context) error

// rule turns a Func into a Rule that ignores the context.
func rule(f Func) Rule {
	return func(value string, _ Context) error { return f(value) }
}
