import CHDF5
import Foundation

/// A read-only view of an HDF5 file: the groups, float datasets and string attributes that
/// Keras weight files use. This is the only file that talks to libhdf5.
///
/// The Debian build of libhdf5 is not thread-safe, so every call into it holds `HDF5File.lock`.
final class HDF5File {
    /// An array read from a dataset, as float32, with its HDF5 shape.
    struct Dataset {
        var shape: [Int]
        var values: [Float]
    }

    private static let lock = NSLock()
    private let file: hid_t
    let path: String

    /// Opens `path` read-only; throws `PeepholeError.unreadableFile` if it is not HDF5.
    init(path: String) throws {
        self.path = path
        let handle: hid_t = Self.locked {
            peephole_h5_silence_errors()
            guard H5Fis_hdf5(path) > 0 else { return -1 }
            return H5Fopen(path, peephole_h5f_acc_rdonly(), peephole_h5p_default())
        }
        guard handle >= 0 else {
            throw PeepholeError.unreadableFile(path: path, reason: "not an HDF5 file")
        }
        file = handle
    }

    deinit {
        Self.locked { _ = H5Fclose(file) }
    }

    /// Whether an object (group or dataset) exists at `path` ("a/b/c", relative to the root).
    func exists(_ path: String) -> Bool {
        Self.locked {
            var prefix = ""
            for component in path.split(separator: "/") {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if H5Lexists(file, prefix, peephole_h5p_default()) <= 0 { return false }
            }
            return true
        }
    }

    /// Whether `path` names a group (as opposed to a dataset or nothing).
    func isGroup(_ path: String) -> Bool {
        guard exists(path) else { return false }
        return Self.locked {
            let object = H5Oopen(file, path, peephole_h5p_default())
            guard object >= 0 else { return false }
            defer { H5Oclose(object) }
            return H5Iget_type(object) == H5I_GROUP
        }
    }

    /// The names of the links inside the group at `path`, in name order.
    func children(of path: String) throws -> [String] {
        try Self.locked {
            let group = H5Gopen2(file, path.isEmpty ? "/" : path, peephole_h5p_default())
            guard group >= 0 else { throw missing(path) }
            defer { H5Gclose(group) }
            var info = H5G_info_t()
            guard H5Gget_info(group, &info) >= 0 else { throw missing(path) }
            return (0..<info.nlinks).map { index in
                let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, peephole_h5p_default())
                var buffer = [CChar](repeating: 0, count: max(0, Int(length)) + 1)
                H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, peephole_h5p_default())
                return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }

    /// Reads the floating-point dataset at `path`, converted to float32.
    func dataset(_ path: String) throws -> Dataset {
        try Self.locked {
            let dataset = H5Dopen2(file, path, peephole_h5p_default())
            guard dataset >= 0 else { throw missing(path) }
            defer { H5Dclose(dataset) }
            let type = H5Dget_type(dataset)
            defer { H5Tclose(type) }
            guard H5Tget_class(type) == H5T_FLOAT else {
                throw PeepholeError.unreadableFile(path: self.path, reason: "dataset \(path) is not floating point")
            }
            let space = H5Dget_space(dataset)
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            var dims = [hsize_t](repeating: 0, count: max(rank, 1))
            H5Sget_simple_extent_dims(space, &dims, nil)
            let shape = dims.prefix(rank).map { Int($0) }
            var values = [Float](repeating: 0, count: shape.reduce(1, *))
            let status = values.withUnsafeMutableBytes { raw in
                H5Dread(dataset, peephole_h5t_native_float(), peephole_h5s_all(), peephole_h5s_all(), peephole_h5p_default(), raw.baseAddress)
            }
            guard status >= 0 else {
                throw PeepholeError.unreadableFile(path: self.path, reason: "cannot read dataset \(path)")
            }
            return Dataset(shape: shape, values: values)
        }
    }

    /// Reads a string attribute (scalar or one-dimensional, fixed or variable length) of the object
    /// at `path`; nil when the attribute does not exist.
    func stringAttribute(_ name: String, of path: String = "/") throws -> [String]? {
        try Self.locked {
            guard H5Aexists_by_name(file, path, name, peephole_h5p_default()) > 0 else { return nil }
            let attribute = H5Aopen_by_name(file, path, name, peephole_h5p_default(), peephole_h5p_default())
            guard attribute >= 0 else { throw missing("\(path)@\(name)") }
            defer { H5Aclose(attribute) }
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let count = Int(H5Sget_simple_extent_npoints(space))
            // h5py writes an empty list (a layer without weights) as an empty float array.
            if count == 0 { return [] }
            let fileType = H5Aget_type(attribute)
            defer { H5Tclose(fileType) }
            guard H5Tget_class(fileType) == H5T_STRING else {
                throw PeepholeError.unreadableFile(path: self.path, reason: "attribute \(name) of \(path) is not a string")
            }
            let memoryType = H5Tcopy(peephole_h5t_c_s1())
            defer { H5Tclose(memoryType) }
            H5Tset_cset(memoryType, H5Tget_cset(fileType))
            if H5Tis_variable_str(fileType) > 0 {
                H5Tset_size(memoryType, peephole_h5t_variable())
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                guard H5Aread(attribute, memoryType, &pointers) >= 0 else {
                    throw PeepholeError.unreadableFile(path: self.path, reason: "cannot read attribute \(name)")
                }
                defer { H5Dvlen_reclaim(memoryType, space, peephole_h5p_default(), &pointers) }
                return pointers.map { $0.map { String(cString: $0) } ?? "" }
            }
            let size = H5Tget_size(fileType)
            H5Tset_size(memoryType, size)
            var bytes = [UInt8](repeating: 0, count: size * count)
            guard H5Aread(attribute, memoryType, &bytes) >= 0 else {
                throw PeepholeError.unreadableFile(path: self.path, reason: "cannot read attribute \(name)")
            }
            return (0..<count).map { index in
                let slice = bytes[(index * size)..<((index + 1) * size)]
                return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
    }

    private func missing(_ what: String) -> PeepholeError {
        .unreadableFile(path: path, reason: "no \(what) in the file")
    }

    private static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
