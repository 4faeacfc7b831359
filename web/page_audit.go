package web

import "github.com/gin-gonic/gin"

// auditPages registers the audit pages of the web UI.
func (s *Server) auditPages(g *gin.RouterGroup) {}
