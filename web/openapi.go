package web

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3.0 description of every endpoint, served at
// GET /api/v1/openapi.json. A test checks it validates and that it names
// every route the server registers.
//
//go:embed openapi.json
var OpenAPI []byte

// handleOpenAPI answers GET /api/v1/openapi.json.
func (s *Server) handleOpenAPI(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(OpenAPI)))
	c.Status(http.StatusOK)
	c.Writer.Write(OpenAPI)
}
