// Package depcheck holds a test that keeps the imports of scratchpack's
// packages pointing one way: cmd → packer → elfdeps.
package depcheck
