package codec

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"

	"github.com/kithhq/kith"
)

// Token is one holder of the codec server's bearer token: its name goes into
// the log of who decoded; only the token's SHA-256 is kept.
type Token struct {
	Name   string
	SHA256 [32]byte
}

// Server serves Temporal's remote codec endpoints (POST /encode, POST /decode)
// so that the Web UI and the CLI (`--codec-endpoint`, `--codec-auth`) show
// payloads in clear to holders of a token, and as ciphertext to everyone else.
type Server struct {
	Codec  converter.PayloadCodec
	Tokens []Token
	// Origins are the Web UIs allowed to call from a browser (CORS), e.g.
	// http://localhost:8233; "*" for any.
	Origins []string
	Log     *slog.Logger
}

// maxCodecBody bounds one request: a page of history's payloads.
const maxCodecBody = 8 << 20

// Handler returns the codec endpoints wrapped in CORS and the token check.
func (s *Server) Handler() http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(s.Codec)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if origin := r.Header.Get("Origin"); origin != "" && (slices.Contains(s.Origins, "*") || slices.Contains(s.Origins, origin)) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if r.Method != http.MethodPost || (r.URL.Path != "/encode" && r.URL.Path != "/decode") {
			h.Set("Allow", "POST")
			http.Error(w, "the codec server serves POST /encode and POST /decode", http.StatusNotFound)
			return
		}
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		holder, ok := kith.MatchKey(token, s.Tokens, func(t Token) [32]byte { return t.SHA256 })
		if !ok {
			h.Set("WWW-Authenticate", `Bearer realm="kith-codec"`)
			http.Error(w, "a codec token is needed (Authorization: Bearer <token>)", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/decode" {
			// Who read personal data, never what.
			s.Log.Info("codec decode", "holder", holder.Name, "namespace", r.Header.Get("X-Namespace"))
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxCodecBody)
		codec.ServeHTTP(w, r)
	})
}
