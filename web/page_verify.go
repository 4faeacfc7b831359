package web

import "github.com/gin-gonic/gin"

// verifyPages registers the verify pages of the web UI.
func (s *Server) verifyPages(g *gin.RouterGroup) {}
