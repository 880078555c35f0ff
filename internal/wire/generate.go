package wire

//go:generate go run ./genmodel
