package httpapi

import (
	"embed"
	"html/template"
	"net/http"
)

//go:embed static
var static embed.FS

var formPage = template.Must(template.ParseFS(static, "static/form.html"))

// handleFormPage serves the hosted form: a shell whose script asks the API what
// to show.
func (s *Server) handleFormPage(w http.ResponseWriter, r *http.Request) {
	form, ok := s.Forms[r.PathValue("form")]
	if !ok {
		http.Error(w, "there is no such form", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	formPage.Execute(w, form)
}

func (s *Server) handleFormScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	http.ServeFileFS(w, r, static, "static/form.js")
}

// handleTrackerScript serves tracker.js, which sites embed (see its header for
// the snippet). Cached for an hour; any origin may load it.
func (s *Server) handleTrackerScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	http.ServeFileFS(w, r, static, "static/tracker.js")
}
