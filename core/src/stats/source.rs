//! Where the statistics engine reads samples from.

use std::convert::Infallible;

use crate::trace::Sample;

/// Something that can stream the samples of a trace more than once.
///
/// The engine makes several passes; every pass must yield the same
/// samples (in any order), or the engine stops with
/// [`ComputeError::SourceChanged`](super::ComputeError::SourceChanged).
pub trait SampleSource {
    /// The error a pass can fail with.
    type Error;
    /// Calls `f` with every sample once, in any order.
    fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), Self::Error>;
}

impl SampleSource for &[Sample] {
    type Error = Infallible;
    fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), Infallible> {
        self.iter().for_each(f);
        Ok(())
    }
}

impl SampleSource for Vec<Sample> {
    type Error = Infallible;
    fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), Infallible> {
        self.iter().for_each(f);
        Ok(())
    }
}

impl<S: SampleSource + ?Sized> SampleSource for &mut S {
    type Error = S::Error;
    fn for_each_sample(&mut self, f: &mut dyn FnMut(&Sample)) -> Result<(), S::Error> {
        (**self).for_each_sample(f)
    }
}
