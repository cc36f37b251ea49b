package dicom

// dict_gen.go (the PS3.6 data dictionary) and uid_gen.go (the PS3.6 Annex A
// UID registry) are written by internal/gen/dictgen; see that command for
// its sources.
//go:generate go run ../internal/gen/dictgen -out .
