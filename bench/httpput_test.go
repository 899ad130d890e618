package bench

import "testing"

// TestHTTPPutBaseline checks the plain-HTTP baseline of BenchmarkUpload on
// both of its paths (one presigned PUT; presigned UploadPart PUTs above the
// single-PUT limit): the emulator must hold the stream's bytes.
func TestHTTPPutBaseline(t *testing.T) {
	tests := []struct {
		name                string
		size, limit, partSz int64
		wantType            string
		wantParts           int
	}{
		{"single PUT", 3 * mib, 5 << 30, 4 << 30, "Normal", 1},
		{"multipart above the limit", 3*mib + 5, 2 * mib, mib, "Multipart", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOSSEnv(t)
			oldLimit, oldPart := httpSingleLimit, httpPartSize
			httpSingleLimit, httpPartSize = tt.limit, tt.partSz
			defer func() { httpSingleLimit, httpPartSize = oldLimit, oldPart }()
			if err := e.httpPut("k", newStream(tt.size), tt.size); err != nil {
				t.Fatal(err)
			}
			info, ok := e.emu.Object(bucketName, "k")
			if !ok || info.Size != tt.size || info.CRC64 != streamCRC(tt.size) || info.Type != tt.wantType || info.Parts != tt.wantParts {
				t.Fatalf("object: %+v (present %v), want size %d, CRC64 %d, %s with %d parts", info, ok, tt.size, streamCRC(tt.size), tt.wantType, tt.wantParts)
			}
		})
	}
}
