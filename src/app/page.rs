//! A page of a list read one row past its size: the extra row only says whether more follow.

/// `rows` (read with a limit of `first + 1`) cut to `first`, and whether a row was past it.
pub fn cut<T>(mut rows: Vec<T>, first: u64) -> (Vec<T>, bool) {
    let more = rows.len() as u64 > first;
    rows.truncate(first as usize);
    (rows, more)
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn the_row_past_the_page_says_more_follow_and_is_dropped() {
        assert_eq!(cut(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(cut(vec![1, 2], 2), (vec![1, 2], false));
        assert_eq!(cut(Vec::<i32>::new(), 2), (vec![], false));
    }
}
