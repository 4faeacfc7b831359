package drill

// Body exposes a record's note text to tests.
func (r *Record) Body() ([]byte, error) { return r.body() }
