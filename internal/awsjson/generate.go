package awsjson

//go:generate go run ./genmodel
