/// Index of the first maximum (the lowest id on ties), as llama.cpp's greedy sampler picks it; counted from
/// the start of `row`.
func argmax(_ row: ArraySlice<Float>) -> Int {
    var best = row.startIndex
    for i in row.indices where row[i] > row[best] { best = i }
    return best - row.startIndex
}

/// The largest |a[i] - b[i]| over the common length.
func maxAbsDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
