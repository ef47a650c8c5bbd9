import COpenBLAS

/// A typed façade over the OpenBLAS routines Peephole's own matrix kernel is measured and
/// checked against (`KernelComparison`, the kernel tests); the forward pass runs on the kernel,
/// whose rows do not depend on the batch (README, "Performance").
///
/// This is the only file that talks to cblas. Matrices are row-major `Float`s.
public enum BLAS {
    /// Whether a matrix operand is used as stored or transposed.
    public enum Transpose: Sendable {
        case none
        case transposed

        fileprivate var cblas: CBLAS_TRANSPOSE {
            self == .none ? CblasNoTrans : CblasTrans
        }
    }

    /// Sets how many threads OpenBLAS may use for one call; the comparisons use one, like the
    /// kernel.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(narrow(max(1, count)))
    }

    /// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`, row-major, with leading dimensions
    /// `lda`, `ldb`, `ldc` counted in elements.
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension")
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transA.cblas, transB.cblas,
            narrow(m), narrow(n), narrow(k),
            alpha, a, narrow(lda), b, narrow(ldb),
            beta, c, narrow(ldc))
    }

    /// `y[n] = alpha · xᵀ[m] · A[m×n] + beta · y`: a row vector times a row-major matrix, which
    /// is `Aᵀ·x` for BLAS. Unlike `sgemm` with one row, it packs nothing, so it is the fast way to
    /// run one sequence's recurrent step.
    public static func vectorTimesMatrix(
        m: Int, n: Int, alpha: Float = 1,
        x: UnsafePointer<Float>, a: UnsafePointer<Float>, lda: Int,
        beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemv(CblasRowMajor, CblasTrans, narrow(m), narrow(n), alpha, a, narrow(lda), x, 1, beta, y, 1)
    }

    /// The one checked narrowing from Swift `Int` to the 32-bit integers of the BLAS interface.
    private static func narrow(_ value: Int) -> Int32 {
        guard let narrowed = Int32(exactly: value) else {
            preconditionFailure("BLAS dimension \(value) does not fit in 32 bits")
        }
        return narrowed
    }
}
