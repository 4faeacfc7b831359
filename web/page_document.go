package web

import "github.com/gin-gonic/gin"

// documentPages registers the document pages of the web UI.
func (s *Server) documentPages(g *gin.RouterGroup) {}
