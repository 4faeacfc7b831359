package web

import "github.com/gin-gonic/gin"

// adminPages registers the admin pages of the web UI.
func (s *Server) adminPages(g *gin.RouterGroup) {}
