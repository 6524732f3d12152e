package validate

// bloomFilter is a split block Bloom filter (the layout Parquet and Impala
// use), doubled: a key sets one bit in each of the eight 32-bit words of two
// 32-byte blocks picked by independent hash bits. Each block costs one
// cache line, and needing both to agree squares the rate of a false "seen"
// compared to one block at the same size (about 1e-10 against 1e-6 at 64
// bits a key). Its size is fixed when it is made; it answers "maybe seen"
// for every key added and, rarely, for one that was not.
type bloomFilter struct {
	blocks [][8]uint32
}

// bloomSalts are Parquet's: odd constants that spread one 32-bit hash over
// the eight words.
var bloomSalts = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// newBloomFilter returns a filter of about size bytes.
func newBloomFilter(size int) *bloomFilter {
	return &bloomFilter{blocks: make([][8]uint32, max(size/32, 1))}
}

// testAndAdd adds the key with hash h and reports whether it may have been
// added before. A key added before always reports true.
func (b *bloomFilter) testAndAdd(h uint64) bool {
	seen := b.block(h)
	// The second block comes from a remix of h (splitmix64's finaliser), so
	// two keys that share the first block rarely share the second.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return b.block(h) && seen
}

// block sets the key's bits in the block h picks and reports whether they
// were all set already.
func (b *bloomFilter) block(h uint64) bool {
	blk := &b.blocks[(h>>32)*uint64(len(b.blocks))>>32]
	x := uint32(h)
	seen := true
	for i, salt := range bloomSalts {
		bit := uint32(1) << ((x * salt) >> 27)
		if blk[i]&bit == 0 {
			seen = false
			blk[i] |= bit
		}
	}
	return seen
}
