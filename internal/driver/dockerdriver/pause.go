package dockerdriver

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// The pause program holds a group's network namespace (awsvpc) and is the
// image of the group's anchor container. It is a hand-assembled static ELF
// executable of a few dozen bytes that sleeps in a system call for ever,
// because the Engine here has no registry to pull a pause image from and
// ecsd must not need a compiler at run time. As PID 1 without a signal
// handler it ignores SIGTERM, so the driver kills it (SIGKILL) when the
// group is done.
//
// The code, per architecture:
//
//	amd64:  loop: mov eax, 34 (pause); syscall; jmp loop
//	arm64:  loop: mov x0..x3, #0; mov x8, #73 (ppoll(NULL, 0, NULL, NULL)); svc #0; b loop
var pauseCode = map[string]struct {
	machine elf.Machine
	code    []byte
}{
	"amd64": {elf.EM_X86_64, []byte{
		0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34
		0x0f, 0x05, // syscall
		0xeb, 0xf7, // jmp -9
	}},
	"arm64": {elf.EM_AARCH64, arm64(
		0xd2800000, // mov x0, #0
		0xd2800001, // mov x1, #0
		0xd2800002, // mov x2, #0
		0xd2800003, // mov x3, #0
		0xd2800928, // mov x8, #73
		0xd4000001, // svc #0
		0x17fffffa, // b -6 instructions
	)},
}

func arm64(words ...uint32) []byte {
	b := make([]byte, 0, 4*len(words))
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// pauseBinary returns the pause executable for a Go architecture name
// (the Engine's ServerVersion.Arch).
func pauseBinary(arch string) ([]byte, error) {
	pc, ok := pauseCode[arch]
	if !ok {
		return nil, fmt.Errorf("no pause program for architecture %q (amd64 and arm64 are supported)", arch)
	}
	const (
		base    = 0x400000
		ehsize  = 64
		phsize  = 56
		codeOff = ehsize + phsize
	)
	size := uint64(codeOff + len(pc.code))
	var buf bytes.Buffer
	hdr := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(pc.machine),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     base + codeOff,
		Phoff:     ehsize,
		Ehsize:    ehsize,
		Phentsize: phsize,
		Phnum:     1,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	hdr.Ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	prog := elf.Prog64{
		Type:   uint32(elf.PT_LOAD),
		Flags:  uint32(elf.PF_R | elf.PF_X),
		Vaddr:  base,
		Paddr:  base,
		Filesz: size,
		Memsz:  size,
		Align:  0x1000,
	}
	_ = binary.Write(&buf, binary.LittleEndian, hdr)
	_ = binary.Write(&buf, binary.LittleEndian, prog)
	buf.Write(pc.code)
	return buf.Bytes(), nil
}

// tarFile is one regular file of a tar stream.
type tarFile struct {
	Name string
	Mode int64
	Body []byte
}

// tarFiles makes a tar stream: a root filesystem for ImageImport.
func tarFiles(files ...tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: f.Mode, Size: int64(len(f.Body))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pauseTag names the pause image after its content, so a changed program
// gets a new image and an existing one is reused.
func pauseTag(bin []byte) string {
	h := sha256.Sum256(bin)
	return "ecsd/pause:" + hex.EncodeToString(h[:6])
}
