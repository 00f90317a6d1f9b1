# Umbra — 한국어.
# 모든 메시지는 en-US 와 같은 키, 같은 변수를 가진다.

## 오류

error-internal = Umbra 쪽에서 문제가 생겼습니다. 기록해 두었으니, 계속되면 오류 ID `{ $error_id }` 를 알려 주세요.
error-not-owner = 서버 소유자만 할 수 있습니다.
error-not-trusted = 서버 소유자와 소유자가 신뢰한 사용자·역할만 할 수 있습니다. 소유자는 `/umbra settings trust` 로 신뢰할 사용자를 추가할 수 있습니다.
error-not-operator = Umbra 운영자만 할 수 있습니다.
error-guild-only = 이 명령은 서버 안에서만 쓸 수 있습니다.
error-bad-argument = 입력이 올바르지 않습니다: { $details }
error-unknown-guild = ID 가 `{ $guild_id }` 인 서버에 Umbra 가 없습니다.
error-unknown-plan = `{ $plan }` 라는 요금제가 없습니다.
error-invalid-days = 일수는 1 이상 { $max } 이하여야 합니다.
error-no-license = 이 서버에는 활성 라이선스가 없습니다. 이 인스턴스의 기본 요금제가 적용됩니다.
error-cooldown = { $seconds }초 뒤에 다시 사용해 주세요.
error-expired-button = 만료된 버튼입니다. 명령을 다시 실행해 주세요.

## /umbra status

status-title = **Umbra — { $guild }**
status-loading = Umbra가 아직 이 서버를 준비하고 있습니다(방금 추가되었습니다). 몇 초 뒤 다시 시도해 주세요.
status-plan = 요금제: **{ $plan }**
status-plan-until = 요금제: **{ $plan }** ({ $until } 까지)
status-sync = 실시간 동기화: { $state }
status-last-snapshot = 마지막 스냅샷: { $value }
status-antinuke = AntiNuke: { $state }
status-not-set-up = 설정되지 않음
status-enabled = 켜짐
status-disabled = 꺼짐
status-locale = 언어: { $locale }
status-log-channel = 로그 채널: { $channel }
status-none = 없음

## /umbra settings

settings-title = 설정
settings-show = **설정**
    언어: { $locale }
    로그 채널: { $log_channel }
    신뢰하는 사용자: { $users }
    신뢰하는 역할: { $roles }
settings-locale-set = 이제 이 서버에서 Umbra 는 `{ $locale }` 로 말합니다 (Umbra 가 지원하는 Discord 언어를 쓰는 사람에게는 그 언어로 답합니다).
settings-locale-cleared = 이제 이 서버에서 Umbra 는 각 사용자의 Discord 언어를 따릅니다.
settings-log-channel-set = DM 이 닫혀 있으면 보고를 { $channel } 에 올립니다.
settings-log-channel-cleared = 로그 채널을 비웠습니다.
settings-trusted-added = 이제 { $target } 을(를) 신뢰합니다.
settings-trusted-removed = 더 이상 { $target } 을(를) 신뢰하지 않습니다.
settings-trusted-already = { $target } 은(는) 이미 신뢰하고 있습니다.
settings-trusted-not-found = { $target } 은(는) 신뢰 목록에 없었습니다.
settings-trusted-needs-target = 사용자 하나 또는 역할 하나만 골라 주세요.
settings-trusted-limit = 한 서버는 사용자 최대 { $max }명, 역할 최대 { $max }개까지 신뢰할 수 있습니다.
settings-reset-title = Umbra 설정 초기화
settings-reset-label = 확인을 위해 서버 이름을 입력하세요
settings-reset-done = 설정을 기본값으로 되돌렸습니다.
settings-reset-mismatch = 이름이 일치하지 않아 아무것도 바꾸지 않았습니다.

## /umbra help

help-topic-overview = **Umbra 는 서버를 복구할 수 있게 지켜 줍니다.**
    서버 구조를 기록하고, 스냅샷을 보관하고, 복원하며, 테러(누크)를 실시간으로 막습니다.
    `/umbra status` — 이 서버의 요금제와 보호 상태
    `/umbra settings` — 언어, 로그 채널, 신뢰하는 사용자 (소유자 전용)
    `/umbra notifications` — Umbra 가 연락하는 방법
help-topic-settings = **설정** (서버 소유자 전용)
    `/umbra settings show` — 현재 설정
    `/umbra settings locale` — 이 서버에서 Umbra 가 쓰는 언어
    `/umbra settings log-channel` — DM 이 닫혀 있을 때 보고를 올릴 채널
    `/umbra settings trust` / `untrust` — 복원과 AntiNuke 명령을 쓸 수 있는 사람
    `/umbra settings reset` — 기본값으로 되돌리기
help-topic-notifications = **알림**
    Umbra 는 서버 소유자에게 서버 소식(요금제 변경, 백업, 사고)을 DM 으로 보냅니다. DM 이 닫혀 있으면 로그 채널에 올립니다.
    `/umbra notifications` — DM 켜기/끄기, 언어 선택, 분류별 끄기.
help-topic-plans = **요금제**
    Free: 스냅샷 3개, 하루 한 번 예약, AntiNuke 감지.
    Pro: 스냅샷 20개, 6시간마다, 모든 AntiNuke 대응, 잠금(lockdown).
    Max: 스냅샷 100개, 한 시간마다, 자동 되돌리기, 멤버 복구 무제한.
help-button-overview = 개요
help-button-settings = 설정
help-button-notifications = 알림
help-button-plans = 요금제

## /admin license

license-granted = **{ $guild }** 에 **{ $plan }** 요금제를 { $until } 까지 부여했습니다.
license-revoked = **{ $guild }** 의 라이선스를 회수했습니다. 이제 기본 요금제입니다.
license-show = **{ $guild }**: { $plan } ({ $status }, { $source }) — { $until } 까지.
license-show-free = **{ $guild }** 에는 라이선스가 없습니다. 기본 요금제가 적용됩니다.
license-forever = 종료일 없음

## /umbra notifications

notifications-show = **내 알림 설정**
    DM: { $dms }
    언어: { $locale }
    끈 분류: { $muted }
notifications-dms-on = Umbra 가 DM 을 보냅니다.
notifications-dms-off = Umbra 가 DM 을 보내지 않습니다. 보고는 서버의 로그 채널로 갑니다.
notifications-locale-set = 앞으로 `{ $locale }` 로 연락드립니다.
notifications-muted = 이제 { $category } 알림을 받지 않습니다.
notifications-unmuted = 다시 { $category } 알림을 받습니다.

## 소유자에게 보내는 알림

notify-welcome = **{ $guild }** 에 Umbra 를 추가해 주셔서 감사합니다! 그 서버에서 `/umbra status` 로 보호 상태를, `/umbra settings` 로 로그 채널과 신뢰하는 사용자를 설정하세요.
notify-license-granted = **{ $guild }** 에 **{ $plan }** 요금제가 { $until } 까지 적용되었습니다.
notify-license-revoked = **{ $guild }** 의 **{ $plan }** 요금제가 회수되어 이제 기본 요금제입니다.
notify-retention-reduced = **{ $guild }** 서버는 이제 스냅샷을 { $keep }개 보관하는 **{ $new_plan }** 요금제입니다. **{ $plan }** 요금제에서 보관하던 스냅샷은 { $until }까지 그대로 남고, 그 뒤로는 새 스냅샷이 만들어질 때마다 { $keep }개를 넘는 고정되지 않은 스냅샷이 오래된 것부터 삭제됩니다. 고정한 스냅샷은 삭제되지 않습니다. 모두 남기려면 필요한 스냅샷을 고정하거나 그 전에 갱신하세요.
notify-license-expired = **{ $guild }** 의 **{ $plan }** 요금제가 만료되어 이제 기본 요금제입니다.
notify-in-log-channel = { $owner } (DM 으로 연락할 수 없어 여기에 올립니다): { $text }

## 요금제와 분류

plan-name-free = Free
plan-name-pro = Pro
plan-name-max = Max
category-lifecycle = 서버 가입·탈퇴
category-billing = 요금제와 결제
category-backups = 백업과 복원
category-security = 보안 사고

members-link-unavailable = 재참여 링크에는 Umbra 웹 로그인이 필요합니다. 운영자가 DISCORD_CLIENT_SECRET과 UMBRA_SECRET_KEY를 설정해야 합니다(README 참고).
members-role-refused = { $role } 역할은 인증 역할로 쓸 수 없습니다. 위험한 권한이 있거나, 연동이 관리하는 역할이거나, @everyone입니다. 일반 역할을 골라 주세요.
members-panel = **{ $guild } 서버와 계속 함께하세요.** Discord 계정을 Umbra에 연결해 두면, 이 서버가 삭제되거나 차단되거나 옮겨져도 새 초대 없이 원래 역할과 닉네임 그대로 다시 들어올 수 있습니다. Umbra는 암호화된 권한만 보관하며 이메일이나 IP는 저장하지 않고, 연결은 언제든지 해제할 수 있습니다.
members-panel-button = 내 계정 연결
members-pull-in-target = 멤버가 들어갈 서버({ $target })에서 `/members pull`을 실행해 주세요. 미리보기와 버튼이 그 서버에 표시됩니다. `source`에는 멤버가 원래 있던 서버를 지정합니다.
members-not-owner-of-both = 다른 서버의 멤버는 두 서버를 모두 소유한 사람만 데려올 수 있습니다.
members-link-counts = 패널을 게시했습니다. 연결된 멤버 { $live }명, 끊어진 연결 { $dead }개(멤버가 Discord에서 Umbra 권한을 취소함: 다시 연결해야 합니다).
billing-not-sold = 이 Umbra에서는 요금제를 판매하지 않습니다. 운영자가 요금제를 부여합니다.
billing-plans-title = **요금제**
billing-price = { $days }일마다 { $price }
billing-price-free = 무료
billing-plan-line = • **{ $plan }** — { $price }: 스냅샷 { $snapshots }개 보관, 멤버 { $members }명까지 복원
billing-subscribe-link = **{ $plan }** 요금제를 구매하려면 { $minutes }분 안에 이 링크를 열고 본인 Discord 계정으로 로그인해 주세요: { $link } — 한 번만, 본인만 쓸 수 있는 링크입니다. 그곳에서 카드를 토스페이먼츠에 등록한 뒤 결제합니다.
billing-unknown-user = Umbra가 아직 계정을 알지 못합니다. 대시보드({ $link })에 한 번 로그인한 뒤 다시 요청해 주세요.
billing-upgraded = **{ $plan }** 요금제로 올렸습니다. 지금부터 적용되며, 이번 기간의 남은 날짜에 해당하는 { $amount }을 결제했습니다. 갱신 때부터는 새 가격으로 결제됩니다.
billing-upgraded-free = **{ $plan }** 요금제로 올렸습니다. 지금부터 적용되며, 이번 기간에 남은 날짜는 무료입니다. 갱신 때부터는 새 가격으로 결제됩니다.
billing-change-scheduled = **{ $plan }** 요금제는 이번 기간이 끝나는 { $at }부터 적용됩니다. 그때까지는 바뀌는 것이 없고, 환불도 없습니다. 되돌리려면 `/billing change`로 지금 요금제를 다시 고르세요.
billing-change-kept = 예약된 변경을 취소했습니다. 구독은 **{ $plan }** 요금제로 유지됩니다.
billing-change-declined = 업그레이드 결제가 거절되었습니다({ $code }). 요금제는 그대로이며 결제된 금액은 없습니다.
billing-change-pending = 업그레이드 결제가 아직 확인되지 않았습니다. Umbra가 주문 번호로 토스페이먼츠에 확인하며, 두 번 결제하지 않습니다. 몇 분 뒤 `/billing status`에서 결과를 확인하세요.
billing-change-past-due = 지난 갱신 결제가 거절되었습니다. 먼저 카드를 바꾼 뒤(`/billing card`) 요금제를 변경해 주세요.
billing-same-plan = 구독이 이미 **{ $plan }** 요금제입니다.
billing-busy = 이 구독의 결제가 진행 중입니다. 잠시 뒤 다시 시도해 주세요.
billing-changes-to = { $at }에 **{ $plan }** 요금제로 바뀝니다.
billing-none = 구독이 없습니다. 이 서버는 **{ $plan }** 요금제입니다.
billing-state-active = 이용 중
billing-state-past-due = 결제 실패, 다시 시도하는 중
billing-state-cancelled = 해지됨
billing-state-expired = 종료됨
billing-ends = { $at }에 종료 (해지됨, 더 이상 결제 없음)
billing-next = 다음 결제 { $at }
billing-status = **{ $plan }** 구독: { $state }. { $next } 카드: { $card }
billing-no-subscription = 이 서버에는 진행 중인 구독이 없습니다.
billing-cancelled = 해지했습니다. 결제한 기간이 끝날 때까지 요금제가 유지되며, 더 이상 결제되지 않습니다. `/billing resume`으로 되돌릴 수 있습니다.
billing-resumed = 구독이 계속됩니다. 기간이 끝나면 갱신됩니다.
billing-card-link = 카드를 바꾸려면 요금제 페이지에서 "카드 변경"을 눌러 주세요: { $link } — 실패한 갱신 결제는 새 카드로 바로 다시 시도합니다.
billing-which-server = DM에서는 `서버` 옵션으로 어느 서버인지 알려 주세요(소유한 서버).
