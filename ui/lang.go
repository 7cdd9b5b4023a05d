package ui

import (
	"fmt"
	"os"
	"strings"
)

// Lang is the language of the screen: every string the dashboard draws, its dialogs, refusal
// reasons, the guide and the help. The command line and JSON output stay English whatever it is.
type Lang string

const (
	LangEnglish Lang = "en"
	LangChinese Lang = "zh-CN" // Simplified Chinese, for the operators this tool was first written for
)

// Langs lists the languages of the screen, for --lang's help and validation.
var Langs = []Lang{LangEnglish, LangChinese}

// ParseLang reads a --lang value: en, or zh-CN (zh, zh_CN and zh-Hans are accepted too).
func ParseLang(s string) (Lang, error) {
	switch l := strings.ToLower(strings.TrimSpace(s)); {
	case l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_"):
		return LangEnglish, nil
	case l == "zh" || l == "zh-cn" || l == "zh_cn" || l == "zh-hans":
		return LangChinese, nil
	}
	return "", fmt.Errorf("unknown language %q (want en or zh-CN)", s)
}

// LangFromEnv picks the screen's language from the locale when --lang is not given: the first of
// LC_ALL, LC_MESSAGES and LANG that is set decides, as it does for every POSIX program; zh_* is
// Chinese, anything else (C, POSIX, en_US.UTF-8, …) English.
func LangFromEnv() Lang { return langFromVars(os.Getenv) }

func langFromVars(getenv func(string) string) Lang {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		if strings.HasPrefix(strings.ToLower(v), "zh") {
			return LangChinese
		}
		return LangEnglish
	}
	return LangEnglish
}

// orEnv is l, or the locale's language when l is empty.
func (l Lang) orEnv() Lang {
	if l == "" {
		return LangFromEnv()
	}
	return l
}
