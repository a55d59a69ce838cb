//! Splitting an amount over several parties in proportion to their weights,
//! in whole pages, exactly (largest-remainder method).

/// Splits `total` over `weights` in proportion to them, in whole `unit`s:
/// share `i` is `⌊total·w_i/Σw⌋` (counted in units), plus one unit for the
/// parties with the largest remainders (ties to the lower index) until the
/// shares add up to `total` exactly. Each share is a multiple of `unit` and
/// at most its weight. `total` and the weights are first rounded down to
/// whole units; when `total` exceeds the sum of the weights, every party
/// gives its whole weight. Deterministic; no float arithmetic.
pub fn apportion(total: u64, weights: &[u64], unit: u64) -> Vec<u64> {
    let unit = unit.max(1);
    let w: Vec<u128> = weights.iter().map(|&x| u128::from(x / unit)).collect();
    let sum: u128 = w.iter().sum();
    let t = u128::from(total / unit);
    if t >= sum {
        return w.iter().map(|&x| to_bytes(x, unit)).collect();
    }
    // sum > t >= 0, so sum > 0.
    let mut shares: Vec<u128> = w.iter().map(|&x| t * x / sum).collect();
    let given: u128 = shares.iter().sum();
    let mut left = t - given;
    let remainders: Vec<u128> = w.iter().map(|&x| (t * x) % sum).collect();
    let mut by_remainder: Vec<usize> = (0..w.len()).filter(|&i| remainders[i] > 0).collect();
    by_remainder.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for i in by_remainder {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| to_bytes(s, unit)).collect()
}

fn to_bytes(units: u128, unit: u64) -> u64 {
    // units ≤ weight / unit, so units · unit ≤ weight fits in u64.
    u64::try_from(units * u128::from(unit)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_exactly_with_largest_remainders() {
        // 10 pages over weights 1:1:1 → 4,3,3 (ties to the lower index).
        assert_eq!(apportion(10, &[5, 5, 5], 1), vec![4, 3, 3]);
        assert_eq!(
            apportion(40960, &[4096 * 5; 3], 4096),
            vec![16384, 12288, 12288]
        );
        // 7 over 1:2:4 exactly.
        assert_eq!(apportion(7, &[1, 2, 4], 1), vec![1, 2, 4]);
        // 3 over 3:1 → 2.25, 0.75 → 2, 1 (the larger remainder gets the unit).
        assert_eq!(apportion(3, &[3, 1], 1), vec![2, 1]);
        assert_eq!(apportion(0, &[3, 1], 1), vec![0, 0]);
        assert_eq!(apportion(9, &[3, 1], 1), vec![3, 1]);
        assert_eq!(apportion(9, &[], 1), Vec::<u64>::new());
        assert_eq!(apportion(9, &[0, 0], 1), vec![0, 0]);
    }

    proptest! {
        #[test]
        fn shares_add_up_and_stay_within_weights(
            weights in prop::collection::vec(0u64..1 << 40, 0..20),
            total in 0u64..1 << 44,
            unit in prop::sample::select(vec![1u64, 4096, 65536]),
        ) {
            let shares = apportion(total, &weights, unit);
            prop_assert_eq!(shares.len(), weights.len());
            let wsum: u64 = weights.iter().map(|w| w / unit * unit).sum();
            let expected = (total / unit * unit).min(wsum);
            prop_assert_eq!(shares.iter().sum::<u64>(), expected);
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(s <= w);
                prop_assert_eq!(s % unit, 0);
            }
        }
    }
}
