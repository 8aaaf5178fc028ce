//! Codes as data. Every error this crate hands to JavaScript is a napi-rs
//! `Error<Code>`: napi-rs creates it with `napi_create_error(code, message)`,
//! so the stable code arrives as `error.code` (never as text to parse back),
//! and `ts/errors.ts` gives it the class `ERROR_CLASSES` names for that code.

use memmap_core::ErrorKind;
use napi::bindgen_prelude::{Env, JsError};

/// Every code an error from this crate can carry: a core failure's, or one the
/// binding raises itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A failure of the mapping core: its kind's code.
    Core(ErrorKind),
    /// An argument of the right type with a value the binding cannot use.
    InvalidArg,
    /// An element kind the reduction kernels do not have.
    InvalidDtype,
    /// The handle names no open map: closed, or never opened.
    Closed,
    /// The runtime refuses external ArrayBuffers (Electron's V8 memory cage).
    ExternalBuffersRefused,
    /// The runtime failed to make or keep an external ArrayBuffer.
    BufferFailed,
}

impl Code {
    /// The binding's own codes (the core's come from [`CORE_KINDS`]).
    const BINDING: [Code; 5] = [
        Code::InvalidArg,
        Code::InvalidDtype,
        Code::Closed,
        Code::ExternalBuffersRefused,
        Code::BufferFailed,
    ];
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::Core(kind) => kind.code(),
            Code::InvalidArg => "ERR_MEMMAP_INVALID_ARG",
            Code::InvalidDtype => "ERR_MEMMAP_INVALID_DTYPE",
            Code::Closed => "ERR_MEMMAP_CLOSED",
            Code::ExternalBuffersRefused => "ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED",
            Code::BufferFailed => "ERR_MEMMAP_BUFFER_FAILED",
        }
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.name()
    }
}

/// A coded error, as `#[napi]` functions return it.
pub type Error = napi::Error<Code>;
pub type Result<T> = std::result::Result<T, Error>;

pub fn coded(code: Code, message: impl ToString) -> Error {
    Error::new(code, message)
}

/// The one place core errors become JavaScript errors.
pub fn to_js_error(err: memmap_core::Error) -> Error {
    coded(Code::Core(err.kind()), err.message())
}

pub fn closed_error() -> Error {
    coded(Code::Closed, "the memmap is closed")
}

/// A rejection that carries `error`'s code. napi-rs settles a task's promise
/// with a `napi::Error<Status>`, whose code would be a napi status name; so the
/// JavaScript error is made here, on the JavaScript thread, and handed over as
/// the value to reject with.
pub fn rejection(env: Env, error: Error) -> napi::Error {
    napi::Error::from(JsError::from(error).into_unknown(env))
}

/// A byte count, offset or index: a non-negative integer that fits in `usize`.
pub fn to_usize(value: f64, what: &str) -> Result<usize> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < usize::MAX as f64 {
        Ok(value as usize)
    } else {
        Err(coded(
            Code::InvalidArg,
            format!("{what} must be a non-negative integer, got {value}"),
        ))
    }
}

/// A byte stride: an integer, negative allowed.
pub fn to_isize(value: f64, what: &str) -> Result<isize> {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < isize::MAX as f64 {
        Ok(value as isize)
    } else {
        Err(coded(
            Code::InvalidArg,
            format!("{what} must be an integer, got {value}"),
        ))
    }
}

/// A view's shape and byte strides from JavaScript numbers, each checked.
pub fn geometry(shape: &[f64], strides: &[f64]) -> Result<(Vec<usize>, Vec<isize>)> {
    let shape = shape
        .iter()
        .map(|&d| to_usize(d, "shape"))
        .collect::<Result<Vec<_>>>()?;
    let strides = strides
        .iter()
        .map(|&s| to_isize(s, "stride"))
        .collect::<Result<Vec<_>>>()?;
    Ok((shape, strides))
}

/// Every core error kind. `kind_index` fails to compile when the core adds a
/// kind, and the unit test below then fails until the kind is listed here, so
/// `error_codes()` cannot miss one.
const CORE_KINDS: [ErrorKind; 23] = [
    ErrorKind::NotFound,
    ErrorKind::IsDirectory,
    ErrorKind::NotRegularFile,
    ErrorKind::PermissionDenied,
    ErrorKind::EmptyFile,
    ErrorKind::FileTooShort,
    ErrorKind::NotWholeItems,
    ErrorKind::TooLarge,
    ErrorKind::NoSpace,
    ErrorKind::TooManyMaps,
    ErrorKind::BadFileDescriptor,
    ErrorKind::Unsupported,
    ErrorKind::FileShrunk,
    ErrorKind::FileReplaced,
    ErrorKind::InvalidArgument,
    ErrorKind::Io,
    ErrorKind::NotAtEnd,
    ErrorKind::InvalidDtype,
    ErrorKind::ValueOutOfRange,
    ErrorKind::EmptyReduction,
    ErrorKind::Aborted,
    ErrorKind::Closed,
    ErrorKind::FileInUse,
];

#[cfg(test)]
fn kind_index(kind: ErrorKind) -> usize {
    match kind {
        ErrorKind::NotFound => 0,
        ErrorKind::IsDirectory => 1,
        ErrorKind::NotRegularFile => 2,
        ErrorKind::PermissionDenied => 3,
        ErrorKind::EmptyFile => 4,
        ErrorKind::FileTooShort => 5,
        ErrorKind::NotWholeItems => 6,
        ErrorKind::TooLarge => 7,
        ErrorKind::NoSpace => 8,
        ErrorKind::TooManyMaps => 9,
        ErrorKind::BadFileDescriptor => 10,
        ErrorKind::Unsupported => 11,
        ErrorKind::FileShrunk => 12,
        ErrorKind::FileReplaced => 13,
        ErrorKind::InvalidArgument => 14,
        ErrorKind::Io => 15,
        ErrorKind::NotAtEnd => 16,
        ErrorKind::InvalidDtype => 17,
        ErrorKind::ValueOutOfRange => 18,
        ErrorKind::EmptyReduction => 19,
        ErrorKind::Aborted => 20,
        ErrorKind::Closed => 21,
        ErrorKind::FileInUse => 22,
    }
}

/// Every code this crate can put on an error, each once.
pub fn error_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = CORE_KINDS.iter().map(|kind| kind.code()).collect();
    // The core and the binding share ERR_MEMMAP_INVALID_ARG.
    for code in Code::BINDING.map(Code::name) {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_is_listed_once() {
        let mut seen = [false; CORE_KINDS.len()];
        for kind in CORE_KINDS {
            let index = kind_index(kind);
            assert!(index < seen.len(), "{kind:?} is missing from CORE_KINDS");
            assert!(!seen[index], "{kind:?} is listed twice");
            seen[index] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn every_binding_code_is_listed_once() {
        // Exhaustive: a new `Code` fails to compile here until it is given an
        // index, and then this test until it is in `Code::BINDING`.
        fn index(code: Code) -> Option<usize> {
            match code {
                Code::Core(_) => None,
                Code::InvalidArg => Some(0),
                Code::InvalidDtype => Some(1),
                Code::Closed => Some(2),
                Code::ExternalBuffersRefused => Some(3),
                Code::BufferFailed => Some(4),
            }
        }
        let mut seen = [false; Code::BINDING.len()];
        for code in Code::BINDING {
            let i = index(code).expect("a core code in Code::BINDING");
            assert!(i < seen.len() && !seen[i], "{code:?}");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn codes_are_distinct_stable_names() {
        let codes = error_codes();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len(), "a code is produced by two kinds: {codes:?}");
        for code in &codes {
            assert!(code.starts_with("ERR_MEMMAP_"), "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{code}");
        }
        for code in Code::BINDING {
            assert!(codes.contains(&code.as_ref()), "{code:?}");
        }
    }

    #[test]
    fn core_errors_keep_their_kinds_code() {
        // Tests build no napi::Error: its drop glue calls into Node, which a
        // test binary does not link.
        use memmap_core::{Length, Mapping, Mode, Source};
        let missing = std::env::temp_dir().join(format!("memmap-node-missing-{}", std::process::id()));
        let err = Mapping::open(Source::Path(missing), Mode::ReadOnly, 0, Length::Exact(1)).unwrap_err();
        assert_eq!(Code::Core(err.kind()).name(), "ERR_MEMMAP_FILE_NOT_FOUND");
        for kind in CORE_KINDS {
            assert_eq!(Code::Core(kind).name(), kind.code());
        }
    }
}
