package web

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// HandleTest registers h at method and path, for black-box tests that need
// a handler the API does not have (one that panics). Call it before Open.
func (s *Server) HandleTest(method, path string, h http.HandlerFunc) {
	s.router.Handle(method, path, gin.WrapF(h))
}
