package web

import "github.com/gin-gonic/gin"

// matterPages registers the matter pages of the web UI.
func (s *Server) matterPages(g *gin.RouterGroup) {}
