// This file is what the simulated reader puts on the wire: the bytes of each
// framing, written from the framing's definition and not from the driver's
// decoder, so that a test of one against the other means something.

package mrzsim

import (
	"fmt"
	"strings"
)

// Framing is how the simulated reader frames a document's lines.
type Framing string

// The framings readers use (see idreader.Framing for their definitions).
const (
	PlainCR   Framing = "plain-cr"   // each line ends in CR
	PlainCRLF Framing = "plain-crlf" // each line ends in CR LF
	STX       Framing = "stx"        // STX, the lines each ending in CR, ETX
	RTE       Framing = "rte"        // 3M/Gemalto RTE Native block
)

// Framings lists every framing, for tests and help texts.
var Framings = []Framing{PlainCR, PlainCRLF, STX, RTE}

// ParseFraming reads a framing name.
func ParseFraming(s string) (Framing, error) {
	for _, f := range Framings {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("mrzsim: unknown framing %q (want plain-cr, plain-crlf, stx or rte)", s)
}

// RTEFlag is the record flag byte the simulator puts in RTE blocks. Readers
// set it per record type; the driver does not interpret it.
const RTEFlag byte = 0x00

// Encode gives the bytes a reader sends for one document in framing f.
//
// An RTE block is
//
//	SOH(0x01) LEN_LO LEN_HI 'O' 'U' STX(0x02) FLAG line CR … ETX(0x03) BCC
//
// where LEN counts the bytes from 'O' through ETX and BCC is the XOR of
// LEN_LO, LEN_HI and those LEN bytes (everything after SOH up to and
// including ETX). Lines of two-line documents are padded with '_' to 44.
func Encode(f Framing, lines []string) []byte {
	var b []byte
	switch f {
	case PlainCRLF:
		for _, l := range lines {
			b = append(append(b, l...), '\r', '\n')
		}
	case STX:
		b = append(b, 0x02)
		for _, l := range lines {
			b = append(append(b, l...), '\r')
		}
		b = append(b, 0x03)
	case RTE:
		body := []byte{'O', 'U', 0x02, RTEFlag}
		for _, l := range lines {
			if len(lines) == 2 && len(l) < 44 {
				l += strings.Repeat("_", 44-len(l))
			}
			body = append(append(body, l...), '\r')
		}
		body = append(body, 0x03)
		n := len(body)
		b = append([]byte{0x01, byte(n), byte(n >> 8)}, body...)
		var bcc byte
		for _, c := range b[1:] {
			bcc ^= c
		}
		b = append(b, bcc)
	default: // PlainCR
		for _, l := range lines {
			b = append(append(b, l...), '\r')
		}
	}
	return b
}

// Samples returns the built-in documents: public specimens from ICAO Doc 9303
// and the German Federal Ministry of the Interior. No real person's data.
func Samples() [][]string {
	return [][]string{
		{ // ICAO 9303-4 passport (TD3)
			"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
			"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
		},
		{ // German ID card specimen (TD1)
			"IDD<<T220001293<<<<<<<<<<<<<<<",
			"6408125<2010315D<<<<<<<<<<<<<4",
			"MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
		},
		{ // German passport specimen (TD3)
			"P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<",
			"C01X0006H1D<<6408125F1710319<<<<<<<<<<<<<<<0",
		},
		{ // ICAO 9303-5 TD1
			"I<UTOD231458907<<<<<<<<<<<<<<<",
			"7408122F1204159UTO<<<<<<<<<<<6",
			"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
		},
		{ // ICAO 9303-6 TD2
			"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
			"D231458907UTO7408122F1204159<<<<<<<6",
		},
		{ // ICAO 9303-7 visa, format A
			"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
			"L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
		},
		{ // ICAO 9303-7 visa, format B
			"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
			"L8988901C4XXX4009078F9612109<<<<<<<<",
		},
		{ // ICAO 9303-5 TD1 with a document number longer than 9 characters
			"I<UTOD23145890<7349<<<<<<<<<<<",
			"3407127M9507122UTO<<<<<<<<<<<2",
			"STEVENSON<<PETER<JOHN<<<<<<<<<",
		},
	}
}
