package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"net"

	"github.com/wneessen/go-mail"

	"github.com/casevault/casevault/vault"
)

// TLS modes of an SMTP server.
const (
	SMTPStartTLS = "starttls" // STARTTLS required (port 587 by default)
	SMTPTLS      = "tls"      // TLS from the first byte (port 465 by default)
	SMTPNone     = "none"     // plain text: loopback relays and tests only
)

// SMTPConfig is the operator's SMTP server (notify.smtp).
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string // SMTPStartTLS (default), SMTPTLS or SMTPNone
	User     string // "": no authentication
	Password string
	From     string // the envelope and header sender
}

// client returns a go-mail client for the configured server.
func (w *Worker) smtpClient() (*mail.Client, error) {
	c := w.opts.SMTP
	opts := []mail.Option{mail.WithTimeout(w.opts.Timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: c.Host, RootCAs: w.opts.RootCAs, MinVersion: tls.VersionTLS12})}
	switch c.TLS {
	case SMTPTLS:
		opts = append(opts, mail.WithSSL())
		if c.Port == 0 {
			c.Port = 465
		}
	case SMTPNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		if c.Port == 0 {
			c.Port = 25
		}
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		if c.Port == 0 {
			c.Port = 587
		}
	}
	opts = append(opts, mail.WithPort(c.Port))
	if c.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(c.User), mail.WithPassword(c.Password))
	}
	return mail.NewClient(c.Host, opts...)
}

// sendEmail sends d to ch's recipients and returns the SMTP reply code
// (250 when accepted) and "" or the error's word.
func (w *Worker) sendEmail(ctx context.Context, ch *vault.Channel, d *vault.Delivery) (int, string) {
	if len(ch.Config.Recipients) == 0 {
		return 0, "no_recipients"
	}
	m := mail.NewMsg()
	if err := m.From(w.opts.SMTP.From); err != nil {
		return 0, "invalid_from"
	}
	if err := m.To(ch.Config.Recipients...); err != nil {
		return 0, "invalid_recipient"
	}
	m.Subject(subject(d.Notice))
	m.SetMessageID()
	m.SetDate()
	m.SetGenHeader("X-CaseVault-Delivery", d.ID)
	m.SetBodyString(mail.TypeTextPlain, w.body(d))
	c, err := w.smtpClient()
	if err != nil {
		return 0, "not_configured"
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && se.ErrorCode() > 0 {
			return se.ErrorCode(), "smtp"
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return 0, "timeout"
		}
		return 0, transportError(err)
	}
	return 250, ""
}
