package ui

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/hotdeploy/hotdeploy/model"
)

// variants calls fn with a copy of v changed in one leaf field at a time (path names it): each
// string, number and bool, each element of a slice (and one more element), each field of a
// struct and of what a pointer points to (allocated when nil).
func variants(v reflect.Value, path string, fn func(path string)) {
	switch v.Kind() {
	case reflect.String:
		old := v.String()
		v.SetString(old + "-changed/x")
		fn(path)
		v.SetString(old)
	case reflect.Bool:
		v.SetBool(!v.Bool())
		fn(path)
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
		fn(path)
		v.SetInt(v.Int() - 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
		fn(path)
		v.SetUint(v.Uint() - 1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				variants(v.Field(i), path+"."+v.Type().Field(i).Name, fn)
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			fn(path + " (set)")
			variants(v.Elem(), path, fn)
			v.Set(reflect.Zero(v.Type()))
			return
		}
		old := v.Elem()
		cp := reflect.New(v.Type().Elem())
		cp.Elem().Set(old)
		v.Set(cp)
		variants(cp.Elem(), path, fn)
		v.Set(old.Addr())
	case reflect.Slice:
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if v.Len() < 3 && v.Type().Elem().Kind() != reflect.Interface {
			grown := reflect.AppendSlice(reflect.MakeSlice(v.Type(), 0, v.Len()+1), v)
			grown = reflect.Append(grown, reflect.New(v.Type().Elem()).Elem())
			v.Set(grown)
			fn(path + " (one more)")
			v.Set(old)
		}
		for i := 0; i < min(v.Len(), 2); i++ {
			cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(cp, old)
			v.Set(cp)
			variants(cp.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
			v.Set(old)
		}
	}
}

// The header is kept from the last frame while headerKey is the same: every field of the
// instance whose change redraws the header must change the key, or the screen would show a
// stale header. Each field of the instance is changed in turn, in both languages, with and
// without a systemd unit.
func TestHeaderKeyNamesWhatTheHeaderShows(t *testing.T) {
	withUnit := installedInstance()
	withUnit.Systemd = &model.SystemdUnit{Unit: "nginx.service", MainPID: 1000, ActiveState: "active", PIDFile: "/run/nginx.pid", MainPIDOK: true}
	supervised := idleInstance()
	supervised.Supervisor = "runit"
	supervised.Hidden = []string{"/proc/1000/exe"}
	upgrading := manyWorkers(2)
	checked := 0
	for _, lang := range []Lang{LangEnglish, LangChinese} {
		tr, sv := newTranslator(lang), DefaultStyles().forLang(lang)
		st := &sv
		for _, base := range []model.Instance{withUnit, supervised, upgrading} {
			in := base
			want := renderHeader(st, tr, in, 120)
			wantKey := headerKey(tr, st, in, 120)
			variants(reflect.ValueOf(&in).Elem(), "Instance", func(path string) {
				checked++
				if renderHeader(st, tr, in, 120) != want && headerKey(tr, st, in, 120) == wantKey {
					t.Errorf("%s: changing %s redraws the header but keeps its key", lang, path)
				}
			})
			if !reflect.DeepEqual(in, base) {
				t.Fatalf("variants left the instance changed")
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d variants checked", checked)
	}
}
