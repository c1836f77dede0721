package messages

// BlockFailure names one buffer block that could not be stored.
type BlockFailure struct {
	// BlockID is the buffer block's id.
	BlockID string
	// Locator is md5+size of the block's bytes (what Keep would have
	// returned, without hints).
	Locator string
	// Err is the store's last error for the block.
	Err error
}
